//! Density guidance for flow models (Karczewski, Heinonen, Garg, ICML 2025): control the
//! log-density of what a flow model generates, and with it how much detail it has.
//!
//! One pipeline: a [`score::ScoreModel`] gives the score; [`guidance`] turns the plain
//! drift into PG / DG / SDG; [`solver`] steps it on a λ grid; [`density`] tracks log p;
//! [`sampler::Sampler`] runs it step by step. The maths is in `SPEC.md` terms throughout.

pub mod alignment;
pub mod canvas;
#[cfg(not(target_arch = "wasm32"))]
pub mod classifier;
pub mod conv_op;
#[cfg(not(target_arch = "wasm32"))]
pub mod data;
pub mod density;
pub mod device;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
pub mod gmm;
pub mod guidance;
pub mod host_net;
pub mod kernels;
pub mod models;
pub mod nets;
pub mod rng;
pub mod sampler;
pub mod schedule;
pub mod score;
pub mod silu_op;
pub mod solver;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};
