//! Density guidance for flow models (Karczewski, Heinonen, Garg, ICML 2025): control the
//! log-density of what a flow model generates, and with it how much detail it has.
//!
//! Folders by layer, imports pointing down only:
//! - [`sampling`]: the maths on any burn device (score models, PG / DG / SDG, solvers, log p,
//!   score alignment, the analytic mixture); knows no network.
//! - [`nets`]: the trained networks, their weights files and their CPU fast path.
//! - [`data`] and [`training`] (native): data sets, flow-matching training, the feature
//!   classifier and sample evaluation.
//! - [`web`]: drawing on the GPU, and (wasm32) the browser API.
//!
//! A new model is a network in `nets/` and a data set in `data/`; a new method lives in
//! `sampling/`; a new backend is a device choice in `sampling/device.rs`. The maths is in
//! `SPEC.md` terms throughout.

#[cfg(not(target_arch = "wasm32"))]
pub mod data;
pub mod error;
pub mod nets;
pub mod sampling;
#[cfg(not(target_arch = "wasm32"))]
pub mod training;
pub mod web;

pub use error::{Error, Result};
