//! The maths, on any burn device (f64 on `flex` for exactness, f32 on wgpu): one pipeline
//! from a score to samples with their log-density. A [`score::ScoreModel`] gives the score at
//! (x, λ) on a [`schedule::Path`]; [`guidance`] turns the plain drift into PG / DG / SDG;
//! [`solver`] steps it on a λ grid; [`density`] tracks log p (and encodes samples back);
//! [`sampler::Sampler`] runs it step by step; [`alignment`] is the score-alignment check;
//! [`gmm`] is the analytic mixture every test compares with, [`gauss`] an exact Gaussian with an
//! image-like spectrum. Knows no network and no browser.

pub mod alignment;
pub mod density;
pub mod device;
pub mod gauss;
pub mod gmm;
pub mod guidance;
pub mod rng;
pub mod sampler;
pub mod schedule;
pub mod score;
pub mod solver;
