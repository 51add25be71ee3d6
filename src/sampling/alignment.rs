//! Score alignment (SPEC 4): does moving a latent along its prior score raise the log-density
//! of its sample? Integrates the tangent `u = DΦ·s_prior` along the plain ODE, and `ω`, the
//! same quantity without any score at the end.

use crate::error::Result;
use crate::sampling::density::{Divergence, laplacian_slope, score_jvp};
use crate::sampling::rng::BatchRng;
use crate::sampling::sampler::Settings;
use crate::sampling::schedule::Window;
use crate::sampling::score::ScoreModel;
use crate::sampling::solver::{self, OdeState, Solver};
use burn::tensor::Tensor;

/// The point, its tangent and `ω`, moving together.
#[derive(Clone)]
struct Tangent {
    x: Tensor<2>,
    u: Tensor<2>,
    omega: Tensor<1>,
}

impl OdeState for Tangent {
    fn axpy(&self, h: f64, r: &Self) -> Self {
        Tangent { x: self.x.axpy(h, &r.x), u: self.u.axpy(h, &r.u), omega: self.omega.axpy(h, &r.omega) }
    }
}

/// SA per latent, both ways: `s(x_end)ᵀu_end` and `ω_end`. They agree on an exact model.
pub struct Alignment {
    pub with_score: Tensor<1>,
    pub without_score: Tensor<1>,
    pub end: Tensor<2>,
}

/// Score alignment of latents `[B, D]` along the plain ODE over `window` (the check runs up
/// to `window.lambda_max`). `div` estimates `∇ₓ(div v)` where the model has no closed form.
pub fn score_alignment(
    model: &dyn ScoreModel,
    latent: Tensor<2>,
    window: Window,
    steps: usize,
    solver: Solver,
    div: Divergence,
    rng: &mut BatchRng,
) -> Result<Alignment> {
    window.validate()?;
    if steps == 0 {
        return Err(crate::Error::invalid("steps", "must be at least 1"));
    }
    let path = model.path();
    let s0 = path.sigma(window.lambda_min);
    let u = latent.clone().div_scalar(-s0 * s0); // the prior's score
    // ω = sᵀu at the start, ≈ ‖s_prior‖² (the model's score at λ_min is the prior's up to
    // its small data part, which an exact model must keep for ω to end at SA exactly)
    let omega = (model.score(latent.clone(), window.lambda_min) * u.clone()).sum_dim(1).squeeze_dim(1);
    let start = Tangent { x: latent, u, omega };
    let end = solver::integrate(solver, start, &window.grid(steps), |y, lambda| {
        let (sig, f) = (path.sigma(lambda), path.f(lambda));
        let half = 0.5 * sig * sig;
        let s = model.score(y.x.clone(), lambda);
        let x = y.x.clone().mul_scalar(f) + s.mul_scalar(half);
        // du/dλ = J_v u = f·u + ½σ²·H u
        let u = y.u.clone().mul_scalar(f) + score_jvp(model, &y.x, lambda, &y.u).mul_scalar(half);
        // dω/dλ = -uᵀ∇ₓ(div v) = -½σ²·uᵀ∇ₓΔ log p
        let omega = laplacian_slope(model, &y.x, lambda, &y.u, div, rng).mul_scalar(-half);
        Ok(Tangent { x, u, omega })
    })?;
    let s_end = model.score(end.x.clone(), window.lambda_max);
    Ok(Alignment { with_score: (s_end * end.u).sum_dim(1).squeeze_dim(1), without_score: end.omega, end: end.x })
}

/// Score alignment of a run's own latents: sample k's latent is the one the sampler starts
/// from before any rescaling, `σ(λ_min)·N(0, I)` drawn from `(seed, first + k)`, checked along
/// the plain ODE with the run's window, steps, solver and divergence. Returns the latents too,
/// so a check of the result can start from them.
pub fn run_alignment(
    model: &dyn ScoreModel,
    settings: &Settings,
    device: &burn::tensor::Device,
) -> Result<(Tensor<2>, Alignment)> {
    settings.validate()?;
    settings.check_limits(model.dim())?;
    let mut rng = BatchRng::new(settings.seed, settings.first, settings.batch);
    let sigma = model.path().sigma(settings.window.lambda_min);
    let latent = rng.normal_tensor(model.dim(), device).mul_scalar(sigma);
    let alignment = score_alignment(
        model,
        latent.clone(),
        settings.window,
        settings.steps,
        settings.solver,
        settings.divergence,
        &mut rng,
    )?;
    Ok((latent, alignment))
}
