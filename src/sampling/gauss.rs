//! A Gaussian with its own variance per dimension, `N(m, diag(τ²))`, in closed form: the
//! exact model of a data set's second moments when written in the data's principal axes (a
//! rotation changes neither the ODE, log p nor the Laplacian). It tells what DG does on an
//! exact score in many dimensions with image-like spectra, where [`crate::sampling::gmm`]'s
//! components are round.

use crate::error::{Error, Result};
use crate::sampling::rng::tensor2;
use crate::sampling::schedule::Path;
use crate::sampling::score::ScoreModel;
use burn::tensor::{Device, Tensor};

pub struct DiagonalGaussian {
    path: Path,
    mean: Tensor<2>,     // [1, D]
    variance: Tensor<2>, // [1, D], τ²
    dim: usize,
    average_variance: f64,
}

impl DiagonalGaussian {
    pub fn new(mean: &[f64], variance: &[f64], path: Path, device: &Device) -> Result<Self> {
        let dim = mean.len();
        if dim == 0 || variance.len() != dim {
            return Err(Error::invalid("variance", format!("{} variances for a mean of {dim}", variance.len())));
        }
        if let Some(v) = variance.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::invalid("variance", format!("must be finite and > 0, got {v}")));
        }
        if mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::invalid("mean", "must be finite numbers"));
        }
        let average_variance = variance.iter().sum::<f64>() / dim as f64;
        Ok(DiagonalGaussian {
            path,
            mean: tensor2(mean.to_vec(), 1, dim, device),
            variance: tensor2(variance.to_vec(), 1, dim, device),
            dim,
            average_variance,
        })
    }

    /// The marginal's variance `α²τ² + σ²` and mean `αm` at λ, `[1, D]` each.
    fn marginal(&self, lambda: f64) -> (Tensor<2>, Tensor<2>) {
        let (a, s) = (self.path.alpha(lambda), self.path.sigma(lambda));
        (self.variance.clone().mul_scalar(a * a).add_scalar(s * s), self.mean.clone().mul_scalar(a))
    }
}

impl ScoreModel for DiagonalGaussian {
    fn dim(&self) -> usize {
        self.dim
    }
    fn path(&self) -> Path {
        self.path
    }
    /// `(αm - x)/v`.
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        let (v, am) = self.marginal(lambda);
        (am - x) / v
    }
    /// `-½ Σ (x - αm)²/v + ln 2πv`.
    fn log_prob(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        let (v, am) = self.marginal(lambda);
        let norm = v.clone().mul_scalar(std::f64::consts::TAU).log();
        Some(((x - am).square() / v + norm).sum_dim(1).squeeze_dim::<1>(1).mul_scalar(-0.5))
    }
    /// `-Σ 1/v`, the same everywhere.
    fn laplacian(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        let (v, _) = self.marginal(lambda);
        // built on x so that it has x's batch and stays differentiable in it
        Some(x.mul_scalar(0.0).sum_dim(1).squeeze_dim::<1>(1) - v.recip().sum())
    }
    /// `-u/v`.
    fn hvp(&self, _x: Tensor<2>, lambda: f64, u: Tensor<2>) -> Option<Tensor<2>> {
        let (v, _) = self.marginal(lambda);
        Some(u.neg() / v)
    }
    fn data_variance(&self) -> f64 {
        self.average_variance
    }
}
