//! Log-density along trajectories (SPEC 2): divergences (exact, Hutchinson), Jacobian
//! products, and encoding given samples back to the prior.

use crate::error::{Error, Result};
use crate::sampling::rng::{BatchRng, tensor2};
use crate::sampling::schedule::Window;
use crate::sampling::score::{Rows, ScoreModel};
use crate::sampling::solver::{self, OdeState, Solver};
use burn::tensor::{DType, Tensor};

/// How the Laplacian `Δ log p = div s` is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Divergence {
    /// Closed form where the model has one, else D vector-Jacobian products.
    Exact,
    /// `zᵀ(∂s/∂x)z` averaged over Rademacher probes `z`: unbiased, one product per probe.
    Hutchinson { probes: usize },
    /// Not computed: log p is not tracked.
    Off,
}

impl Divergence {
    pub fn parse(s: &str, probes: usize) -> Result<Self> {
        match s {
            "exact" => Ok(Divergence::Exact),
            "hutchinson" if probes == 0 => Err(Error::invalid("probes", "must be at least 1")),
            "hutchinson" => Ok(Divergence::Hutchinson { probes }),
            "off" => Ok(Divergence::Off),
            _ => Err(Error::invalid("logp", format!("'{s}' is not one of exact, hutchinson, off"))),
        }
    }
}

/// Rows per autodiff pass: the batch replicated once per probe is cut into pieces this size.
const MAX_ROWS: usize = 8192;

/// The score and, unless `div` is `Off`, the Laplacian, from one evaluation of the model.
pub fn score_and_laplacian(
    model: &dyn ScoreModel,
    x: &Tensor<2>,
    lambda: f64,
    div: Divergence,
    rng: &mut BatchRng,
) -> (Tensor<2>, Option<Tensor<1>>) {
    let [b, d] = x.dims();
    let (m, scale) = match div {
        Divergence::Off => return (model.score(x.clone(), lambda), None),
        Divergence::Exact => match model.laplacian(x.clone(), lambda) {
            Some(lap) => return (model.score(x.clone(), lambda), Some(lap)),
            None => (d, 1.0),
        },
        Divergence::Hutchinson { probes } => (probes, 1.0 / probes as f64),
    };
    let chunk = (MAX_ROWS / m).max(1);
    let (mut scores, mut laps) = (Vec::new(), Vec::new());
    for start in (0..b).step_by(chunk) {
        let n = chunk.min(b - start);
        let probes: Vec<f64> = match div {
            Divergence::Exact => {
                (0..m).flat_map(|j| (0..n).flat_map(move |_| (0..d).map(move |i| f64::from(i == j)))).collect()
            }
            _ => rng.rademacher(m, start, n, d),
        };
        let z = tensor2(probes, m * n, d, &x.device());
        let xs = x.clone().narrow(0, start, n).repeat_dim(0, m);
        let rows = Rows { start, period: n };
        let (s, lap) = jvp_trace(model, xs.clone(), lambda, z.clone(), rows, m)
            .unwrap_or_else(|| vjp_trace(model, xs, lambda, z, rows, m));
        scores.push(s);
        laps.push(lap.mul_scalar(scale));
    }
    (Tensor::cat(scores, 0), Some(Tensor::cat(laps, 0)))
}

/// `Σ_j z_jᵀ (∂s/∂x) z_j` for m probe blocks of `rows.period` rows from the model's own
/// forward-mode product ([`ScoreModel::score_and_jvp`]), where it has one; also the first
/// block's score.
fn jvp_trace(
    model: &dyn ScoreModel,
    xs: Tensor<2>,
    lambda: f64,
    z: Tensor<2>,
    rows: Rows,
    m: usize,
) -> Option<(Tensor<2>, Tensor<1>)> {
    let n = rows.period;
    let (s, jz) = model.score_and_jvp(xs, lambda, z.clone(), rows)?;
    Some((s.narrow(0, 0, n), probe_sum(jz, z, m, n)))
}

/// `Σ_j z_jᵀ(Jz)_j` per row, from `m` stacked blocks of `n` rows.
fn probe_sum(jz: Tensor<2>, z: Tensor<2>, m: usize, n: usize) -> Tensor<1> {
    (jz * z).sum_dim(1).reshape([m, n]).sum_dim(0).reshape([n])
}

/// `Σ_j z_jᵀ (∂s/∂x) z_j` for m probe blocks of `rows.period` rows, by one backward pass over
/// the batch replicated m times; also the score of the first block.
fn vjp_trace(
    model: &dyn ScoreModel,
    xs: Tensor<2>,
    lambda: f64,
    z: Tensor<2>,
    rows: Rows,
    m: usize,
) -> (Tensor<2>, Tensor<1>) {
    let n = rows.period;
    let xa = xs.autodiff().require_grad();
    let s = model.score_rows(xa.clone(), lambda, rows);
    let grads = (s.clone() * z.clone()).sum().backward();
    let zj = xa.grad(&grads).expect("the score depends on x");
    (s.inner().narrow(0, 0, n), probe_sum(zj, z, m, n))
}

/// Finite-difference step for a unit direction, by precision: balances truncation and
/// round-off error of a central difference.
fn fd_step(x: &Tensor<2>) -> f64 {
    if x.dtype() == DType::F64 { 1e-5 } else { 1e-2 }
}

/// A central difference along `u`: the step for `x`'s precision, the row norms `[B, 1]` of
/// `u` and its unit direction (a zero direction stays zero).
fn fd_direction(x: &Tensor<2>, u: &Tensor<2>) -> (f64, Tensor<2>, Tensor<2>) {
    let norm = u.clone().square().sum_dim(1).sqrt();
    let dir = u.clone() / norm.clone().clamp_min(1e-300);
    (fd_step(x), norm, dir)
}

/// `(∂s/∂x)·u`: closed form where known, else the model's own forward-mode product, else a
/// central difference along `u/‖u‖`.
pub fn score_jvp(model: &dyn ScoreModel, x: &Tensor<2>, lambda: f64, u: &Tensor<2>) -> Tensor<2> {
    if let Some(hu) = model.hvp(x.clone(), lambda, u.clone()) {
        return hu;
    }
    if let Some((_, ju)) = model.score_and_jvp(x.clone(), lambda, u.clone(), Rows::RUN) {
        return ju;
    }
    let (h, norm, dir) = fd_direction(x, u);
    let plus = model.score(x.clone() + dir.clone().mul_scalar(h), lambda);
    let minus = model.score(x.clone() - dir.mul_scalar(h), lambda);
    (plus - minus).mul_scalar(0.5 / h) * norm
}

/// `uᵀ∇ₓ(Δ log p)`: autodiff of a closed-form Laplacian, else a central difference of the
/// estimated Laplacian with the same probes on both sides.
pub fn laplacian_slope(
    model: &dyn ScoreModel,
    x: &Tensor<2>,
    lambda: f64,
    u: &Tensor<2>,
    div: Divergence,
    rng: &mut BatchRng,
) -> Tensor<1> {
    let xa = x.clone().autodiff().require_grad();
    if let Some(lap) = model.laplacian(xa.clone(), lambda) {
        let grads = lap.sum().backward();
        let g = xa.grad(&grads).expect("the Laplacian depends on x");
        return (g * u.clone()).sum_dim(1).squeeze_dim(1);
    }
    let div = if div == Divergence::Off { Divergence::Exact } else { div };
    let (h, norm, dir) = fd_direction(x, u);
    let (mut a, mut b) = rng.twins();
    let (_, plus) = score_and_laplacian(model, &(x.clone() + dir.clone().mul_scalar(h)), lambda, div, &mut a);
    let (_, minus) = score_and_laplacian(model, &(x.clone() - dir.mul_scalar(h)), lambda, div, &mut b);
    let diff = plus.expect("divergence on") - minus.expect("divergence on");
    diff.mul_scalar(0.5 / h) * norm.squeeze_dim(1)
}

/// A batch moving along the ODE with its log-density: `x`, the tracked `log p` and the part
/// of it the plain flow contributes, `∫(-div v)dλ`.
#[derive(Clone)]
pub struct Track {
    pub x: Tensor<2>,
    pub logp: Tensor<1>,
    pub plain: Tensor<1>,
}

impl OdeState for Track {
    fn axpy(&self, h: f64, r: &Self) -> Self {
        Track { x: self.x.axpy(h, &r.x), logp: self.logp.axpy(h, &r.logp), plain: self.plain.axpy(h, &r.plain) }
    }
}

/// `-div v = -(D·f + ½σ²·Δ log p)`, the plain flow's rate of change of log p.
pub fn plain_rate(model: &dyn ScoreModel, lambda: f64, lap: Tensor<1>) -> Tensor<1> {
    let path = model.path();
    let s = path.sigma(lambda);
    lap.mul_scalar(-0.5 * s * s).sub_scalar(model.dim() as f64 * path.f(lambda))
}

/// `log p` at the start of the window: the model's own where it has one (the analytic
/// mixture), else the Gaussian prior `N(0, σ(λ_min)² I)` every implementation assumes.
pub fn start_log_prob(model: &dyn ScoreModel, x: &Tensor<2>, lambda_min: f64) -> Tensor<1> {
    if let Some(lp) = model.log_prob(x.clone(), lambda_min) {
        return lp;
    }
    let s2 = model.path().sigma(lambda_min).powi(2);
    let d = model.dim() as f64;
    x.clone()
        .square()
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .mul_scalar(-0.5 / s2)
        .sub_scalar(0.5 * d * (std::f64::consts::TAU * s2).ln())
}

/// `log p` of given samples by encoding (SPEC 2): the plain ODE from λ_max back to λ_min,
/// accumulating the divergence, then the start density at the end point.
pub fn encode(
    model: &dyn ScoreModel,
    samples: Tensor<2>,
    window: Window,
    steps: usize,
    solver: Solver,
    div: Divergence,
    rng: &mut BatchRng,
) -> Result<Tensor<1>> {
    if div == Divergence::Off {
        return Err(Error::invalid("divergence", "encoding needs a divergence (exact or hutchinson)"));
    }
    if steps == 0 {
        return Err(Error::invalid("steps", "must be at least 1"));
    }
    let [b, _] = samples.dims();
    let zero = Tensor::zeros([b], &samples.device());
    let mut grid = window.grid(steps);
    grid.reverse();
    let start = Track { x: samples, logp: zero.clone(), plain: zero };
    let end = solver::integrate(solver, start, &grid, |y, lambda| {
        let path = model.path();
        let (s, lap) = score_and_laplacian(model, &y.x, lambda, div, rng);
        let sig = path.sigma(lambda);
        let v = y.x.clone().mul_scalar(path.f(lambda)) + s.mul_scalar(0.5 * sig * sig);
        let r = plain_rate(model, lambda, lap.expect("divergence on"));
        Ok(Track { x: v, logp: r.clone(), plain: r })
    })?;
    // integrated backward: end.logp = ∫_{λmax}^{λmin}(-div v)dλ = -∫_{λmin}^{λmax}(-div v)dλ
    Ok(start_log_prob(model, &end.x, window.lambda_min) - end.logp)
}
