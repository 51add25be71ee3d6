//! The score-model abstraction (SPEC 1): anything that gives `∇ₓ log p_λ(x)` for a batch.
//! Networks predict noise, velocity or data; [`FromPrediction`] turns each into a score.

use crate::sampling::schedule::Path;
use burn::tensor::Tensor;

/// Which of the run's samples each row of a batch holds: row `r` is sample `start + r % period`.
/// The solver's batch is [`Rows::RUN`]; the density module evaluates chunks of it, repeated
/// once per probe. Models whose output depends on the sample (class labels cycled over the
/// batch) read it; the others ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    pub start: usize,
    pub period: usize,
}

impl Rows {
    /// Row `r` is sample `r`.
    pub const RUN: Rows = Rows { start: 0, period: usize::MAX };

    /// The sample row `r` holds.
    pub fn sample(self, r: usize) -> usize {
        self.start + r % self.period
    }
}

/// A batch of scores at `(x, λ)`, with closed forms where a model has them.
///
/// `score` must be built from tensor operations on `x`, so that autodiff through it gives
/// divergences and Jacobian products for models without closed forms.
pub trait ScoreModel {
    /// Data dimension D.
    fn dim(&self) -> usize;
    /// The path the model's marginals follow.
    fn path(&self) -> Path;
    /// `[B, D] -> [B, D]`: the score of the marginal at λ.
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2>;
    /// `score` for a batch laid out as `rows` says.
    fn score_rows(&self, x: Tensor<2>, lambda: f64, _rows: Rows) -> Tensor<2> {
        self.score(x, lambda)
    }
    /// Exact `log p_λ(x)`, `[B]`, where known.
    fn log_prob(&self, _x: Tensor<2>, _lambda: f64) -> Option<Tensor<1>> {
        None
    }
    /// Exact Laplacian `Δ log p_λ(x)`, `[B]`, where known. Differentiable in `x`.
    fn laplacian(&self, _x: Tensor<2>, _lambda: f64) -> Option<Tensor<1>> {
        None
    }
    /// FLOPs of one score evaluation per sample, where known (for reading benchmarks).
    fn flops_per_sample(&self) -> Option<f64> {
        None
    }
    /// Exact Hessian-vector product `∇²log p_λ(x)·v`, `[B, D]`, where known.
    fn hvp(&self, _x: Tensor<2>, _lambda: f64, _v: Tensor<2>) -> Option<Tensor<2>> {
        None
    }
    /// `τ²`, the data's variance per dimension, so that `α²τ² + σ²` is the variance of the
    /// marginal at λ: the scale DG's guards measure the score against (SPEC 5.1). Networks
    /// here are trained on data scaled to about unit spread (the 2-D lab, pixels in [-1, 1]).
    fn data_variance(&self) -> f64 {
        1.0
    }
    /// The score and its Jacobian-vector product `(∂s/∂x)·z`, `[B, D]` each, where the model
    /// has a forward-mode derivative of its own (the host U-Net, [`crate::nets::host`]): one
    /// pass instead of an autodiff backward. `None` otherwise, and for autodiff inputs.
    fn score_and_jvp(&self, _x: Tensor<2>, _lambda: f64, _z: Tensor<2>, _rows: Rows) -> Option<(Tensor<2>, Tensor<2>)> {
        None
    }
}

/// What a network's output means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// `ε̂`, the noise.
    Noise,
    /// `v̂ = ε - x_data`, the flow-matching velocity (noise fraction t as time).
    Velocity,
    /// `x̂`, the clean data.
    Data,
}

impl Prediction {
    /// Converts a prediction to the score. Velocity: `ε̂ = (x + α·v̂)/(α + σ)`, which on the
    /// linear path (α + σ = 1) is SPEC's `ε̂ = x + (1-t)·v̂`.
    pub fn to_score(self, path: Path, x: Tensor<2>, out: Tensor<2>, lambda: f64) -> Tensor<2> {
        let (a, s) = (path.alpha(lambda), path.sigma(lambda));
        match self {
            Prediction::Noise => out.div_scalar(-s),
            Prediction::Velocity => (x + out.mul_scalar(a)).div_scalar(-s * (a + s)),
            Prediction::Data => (out.mul_scalar(a) - x).div_scalar(s * s),
        }
    }

    /// The prediction an exact model with this score would make (the inverse of `to_score`).
    pub fn from_score(self, path: Path, x: Tensor<2>, score: Tensor<2>, lambda: f64) -> Tensor<2> {
        let (a, s) = (path.alpha(lambda), path.sigma(lambda));
        let eps = score.clone().mul_scalar(-s);
        match self {
            Prediction::Noise => eps,
            Prediction::Velocity => (eps.mul_scalar(a + s) - x).div_scalar(a),
            Prediction::Data => (x + score.mul_scalar(s * s)).div_scalar(a),
        }
    }
}

/// A network: a batch of predictions at `(x, λ)`.
pub trait Predictor {
    fn dim(&self) -> usize;
    /// FLOPs of one prediction per sample.
    fn flops(&self) -> f64;
    fn predict(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        self.predict_rows(x, lambda, Rows::RUN)
    }
    /// `predict` for a batch laid out as `rows` says ([`ScoreModel::score_rows`]).
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2>;
    /// The prediction and its derivative along `dx`, where the network has a forward-mode
    /// derivative (see [`ScoreModel::score_and_jvp`]).
    fn predict_jvp(&self, _x: Tensor<2>, _lambda: f64, _dx: Tensor<2>, _rows: Rows) -> Option<(Tensor<2>, Tensor<2>)> {
        None
    }
}

/// Any predictor as a score model.
pub struct FromPrediction<P> {
    pub net: P,
    pub kind: Prediction,
    pub path: Path,
}

impl<P: Predictor> ScoreModel for FromPrediction<P> {
    fn dim(&self) -> usize {
        self.net.dim()
    }
    fn path(&self) -> Path {
        self.path
    }
    fn flops_per_sample(&self) -> Option<f64> {
        Some(self.net.flops())
    }
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        self.score_rows(x, lambda, Rows::RUN)
    }
    fn score_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2> {
        let out = self.net.predict_rows(x.clone(), lambda, rows);
        self.kind.to_score(self.path, x, out, lambda)
    }
    fn score_and_jvp(&self, x: Tensor<2>, lambda: f64, z: Tensor<2>, rows: Rows) -> Option<(Tensor<2>, Tensor<2>)> {
        let (out, dout) = self.net.predict_jvp(x.clone(), lambda, z.clone(), rows)?;
        // `to_score` is linear in (x, prediction) jointly, so the tangent maps the same way
        Some((self.kind.to_score(self.path, x, out, lambda), self.kind.to_score(self.path, z, dout, lambda)))
    }
}
