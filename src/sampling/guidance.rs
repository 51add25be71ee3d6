//! The methods (SPEC 3, 5, 6) as one drift: the plain probability-flow drift `v`, plus for
//! DG and SDG a push along the score that sets how fast log p changes.
//!
//! Every guided form is `ṽ = v + ½σ²(η-1)·s` with `η - 1 = 2c/‖σs‖²`, where `c` is the
//! requested excess rate of log p in nats per unit λ over the plain flow's `-div v`:
//! - DG, quantile rule: `c = ½Q`, `Q = sqrt(2D)·Φ⁻¹(q)` (from `start` on, if one is set);
//! - DG, exact target: `c = div v + b`, `b = (L* - log p_start)/(λ_max - λ_min)`;
//! - SDG: `c = ½Q - ½φ²Δ̂`, which cancels the Itô push of score-orthogonal noise.

use crate::error::{Error, Result, finite};
use crate::sampling::density::{Divergence, plain_rate, score_and_laplacian, score_jvp};
use crate::sampling::rng::BatchRng;
use crate::sampling::score::ScoreModel;
use burn::tensor::Tensor;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// `Φ⁻¹(p)`, the standard normal quantile.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// `χ_D⁻¹(p)`, the quantile of the norm of a D-dimensional standard normal.
pub fn chi_quantile(d: usize, p: f64) -> f64 {
    ChiSquared::new(d as f64).expect("d >= 1").inverse_cdf(p).sqrt()
}

pub fn check_q(q: f64) -> Result<f64> {
    finite("q", q)?;
    if q > 0.0 && q < 1.0 {
        Ok(q)
    } else {
        Err(Error::invalid("q", format!("must lie strictly between 0 and 1, got {q}")))
    }
}

/// `½Q = ½·sqrt(2D)·Φ⁻¹(q)`: the quantile rule's excess rate, nats per unit λ.
pub fn quantile_rate(q: f64, d: usize) -> f64 {
    0.5 * (2.0 * d as f64).sqrt() * normal_quantile(q)
}

/// Prior Guidance radius `σ(λ_min)·χ_D⁻¹(1 - q)`: larger q, smaller latent, higher log p.
pub fn prior_radius(q: f64, d: usize, sigma_min: f64) -> f64 {
    sigma_min * chi_quantile(d, 1.0 - q)
}

/// SDG noise schedule: `φ̃ = level` on `[from, to)`, zero elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Noise {
    pub level: f64,
    pub from: f64,
    pub to: f64,
}

impl Noise {
    /// The authors' early window: structure varies.
    pub const EARLY: Noise = Noise { level: 0.2, from: -10.0, to: -4.0 };
    /// The authors' late window: fine detail varies.
    pub const LATE: Noise = Noise { level: 0.3, from: -3.0, to: 9.0 };
    pub const NONE: Noise = Noise { level: 0.0, from: 0.0, to: 0.0 };

    /// `early`, `late`, `none`, or a custom `LEVEL:FROM:TO`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("noise", format!("'{s}' is not early, late, none or LEVEL:FROM:TO"));
        let noise = match s {
            "early" => Noise::EARLY,
            "late" => Noise::LATE,
            "none" => Noise::NONE,
            _ => {
                let v: Vec<f64> = s
                    .split(':')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| bad())?;
                let [level, from, to] = v[..] else {
                    return Err(bad());
                };
                Noise { level, from, to }
            }
        };
        noise.validate()?;
        Ok(noise)
    }

    pub fn validate(&self) -> Result<()> {
        for v in [self.level, self.from, self.to] {
            finite("noise", v)?;
        }
        if self.level < 0.0 {
            return Err(Error::invalid("noise", format!("level must be >= 0, got {}", self.level)));
        }
        if self.from > self.to {
            return Err(Error::invalid("noise", format!("window start {} is after its end {}", self.from, self.to)));
        }
        Ok(())
    }

    /// `φ̃(λ)`.
    pub fn at(&self, lambda: f64) -> f64 {
        if lambda >= self.from && lambda < self.to { self.level } else { 0.0 }
    }
}

/// What steers the sampler.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum Method {
    /// The probability-flow ODE.
    Plain,
    /// Prior Guidance: the latent rescaled to the chi quantile `1 - q`, then the plain ODE.
    Prior { q: f64 },
    /// Density Guidance, quantile rule. `start`: the λ from which the push acts (SPEC 5.3);
    /// `None` is the paper's form, the whole path. On a trained image model the push at high
    /// noise is what turns into speckle (docs/findings.md), so the page's image runs start it
    /// later.
    Dg {
        q: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<f64>,
    },
    /// Density Guidance to an exact final log-density (needs a divergence).
    DgExact { target_logp: f64 },
    /// Stochastic Density Guidance; `exact` removes the `ŝᵀHŝ` bias (SPEC 6).
    Sdg { q: f64, noise: Noise, exact: bool },
}

impl Method {
    pub fn validate(&self) -> Result<()> {
        match *self {
            Method::Plain => Ok(()),
            Method::Prior { q } => check_q(q).map(drop),
            Method::Dg { q, start } => {
                check_q(q)?;
                if let Some(start) = start {
                    finite("dg-start", start)?;
                }
                Ok(())
            }
            Method::DgExact { target_logp } => finite("target-logp", target_logp).map(drop),
            Method::Sdg { q, noise, .. } => {
                check_q(q)?;
                noise.validate()
            }
        }
    }

    pub fn noise(&self) -> Noise {
        match *self {
            Method::Sdg { noise, .. } => noise,
            _ => Noise::NONE,
        }
    }
}

/// SPEC 5.1, measured in the marginal's own scale `ℓ² = α²τ² + σ²` (its variance per
/// dimension; `‖ℓs‖² ≈ D` at typical points at every noise level): floor `‖ℓs‖²` at
/// `norm_floor·D` (the score vanishing near a mode) and cap `|2c|/‖ℓs‖²` at `eta_cap` (a push
/// larger than the density's own pull). Every step where one acts is counted.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Guards {
    pub norm_floor: f64,
    pub eta_cap: f64,
}

impl Default for Guards {
    fn default() -> Self {
        Guards { norm_floor: 1e-3, eta_cap: 10.0 }
    }
}

/// Rates of change at one point of a run.
pub struct Rates {
    /// `dx/dλ`
    pub x: Tensor<2>,
    /// `d log p/dλ` (zeros when log p is not tracked)
    pub logp: Tensor<1>,
    /// `-div v`, the plain flow's part of it
    pub plain: Tensor<1>,
    /// `[1]`: 1 where a guard acted on any sample, else 0
    pub guarded: Tensor<1>,
    /// The score, reused by SDG's noise projection.
    pub score: Tensor<2>,
}

/// The excess rate `c`: one number for the quantile rule, else one per sample.
#[allow(clippy::large_enum_variant)] // one per run
enum Excess {
    Constant(f64),
    PerSample(Tensor<1>),
}

/// The drift of one method, ready for a solver.
pub struct Guidance {
    pub method: Method,
    pub divergence: Divergence,
    pub guards: Guards,
    /// DG exact target: `b` per sample, `[B]`.
    pub target_rate: Option<Tensor<1>>,
}

impl Guidance {
    /// Whether the drift needs the Laplacian at λ (tracking, DG exact, or SDG noise on).
    fn laplacian_mode(&self, lambda: f64) -> Divergence {
        match (self.divergence, self.method) {
            (Divergence::Off, Method::Sdg { noise, .. }) if noise.at(lambda) > 0.0 => {
                Divergence::Hutchinson { probes: 1 }
            }
            (div, _) => div,
        }
    }

    pub fn rates(&self, model: &dyn ScoreModel, x: &Tensor<2>, lambda: f64, rng: &mut BatchRng) -> Rates {
        let path = model.path();
        let (d, sig, f) = (model.dim(), path.sigma(lambda), path.f(lambda));
        let (s, lap) = score_and_laplacian(model, x, lambda, self.laplacian_mode(lambda), rng);
        let [b, _] = x.dims();
        let device = x.device();
        let v = x.clone().mul_scalar(f) + s.clone().mul_scalar(0.5 * sig * sig);
        let plain = match &lap {
            Some(lap) if self.divergence != Divergence::Off => plain_rate(model, lambda, lap.clone()),
            _ => Tensor::zeros([b], &device),
        };
        let phi = self.method.noise().at(lambda) * sig;
        // the excess rate c (a constant for the quantile rule), and the Itô term
        // ½φ²(Δ - ŝᵀHŝ) of score-orthogonal noise
        let (excess, ito) = match self.method {
            Method::Plain | Method::Prior { .. } => {
                return Rates { x: v, logp: plain.clone(), plain, guarded: Tensor::zeros([1], &device), score: s };
            }
            Method::Dg { start: Some(start), .. } if lambda < start => {
                return Rates { x: v, logp: plain.clone(), plain, guarded: Tensor::zeros([1], &device), score: s };
            }
            Method::Dg { q, .. } => (Excess::Constant(quantile_rate(q, d)), None),
            Method::DgExact { .. } => {
                let b = self.target_rate.clone().expect("set by the sampler");
                (Excess::PerSample(b - plain.clone()), None)
            }
            Method::Sdg { q, exact, .. } => {
                let half_q = quantile_rate(q, d);
                if phi > 0.0 {
                    let lap = lap.clone().expect("SDG noise needs a Laplacian");
                    let s2 = s.clone().square().sum_dim(1);
                    let shs = (score_jvp(model, x, lambda, &s) * s.clone())
                        .sum_dim(1)
                        .div(s2.clamp_min(1e-300))
                        .squeeze_dim(1);
                    let used = if exact { lap.clone() - shs.clone() } else { lap.clone() };
                    let ito = (lap - shs).mul_scalar(0.5 * phi * phi);
                    (Excess::PerSample(used.mul_scalar(-0.5 * phi * phi).add_scalar(half_q)), Some(ito))
                } else {
                    (Excess::Constant(half_q), None)
                }
            }
        };
        // the push c·s/‖s‖² = ½ℓ²·k·s with k = 2c/‖ℓs‖², ‖ℓs‖² floored and |k| capped in the
        // marginal's own scale ℓ² (SPEC 5.1); kept as [B, 1] columns
        let ell2 = path.alpha(lambda).powi(2) * model.data_variance() + sig * sig;
        let s2 = s.clone().square().sum_dim(1);
        let floor = self.guards.norm_floor * d as f64 / ell2;
        let inv = s2.clone().clamp_min(floor).recip();
        let raw = match excess {
            Excess::Constant(c) => inv.mul_scalar(2.0 * c / ell2),
            Excess::PerSample(c) => inv * c.unsqueeze_dim(1).mul_scalar(2.0 / ell2),
        };
        let cap = self.guards.eta_cap;
        let k = raw.clone().clamp(-cap, cap);
        let guarded =
            s2.clone().lower_elem(floor).bool_or(raw.abs().greater_elem(cap)).float().max_dim(0).squeeze_dim(1);
        let x_rate = v + s.clone() * k.clone().mul_scalar(0.5 * ell2);
        if self.divergence == Divergence::Off {
            return Rates { x: x_rate, logp: plain.clone(), plain, guarded, score: s };
        }
        let norm2 = s2.squeeze_dim::<1>(1).mul_scalar(ell2);
        let k = k.squeeze_dim::<1>(1);
        // s·(ṽ - v) = ½k‖ℓs‖²: the guided term of SPEC (2.1), with the push really used
        let mut logp = plain.clone() + k * norm2.mul_scalar(0.5);
        if let Some(ito) = ito {
            logp = logp + ito;
        }
        Rates { x: x_rate, logp, plain, guarded, score: s }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_known_values() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-9);
        assert_eq!(normal_quantile(0.5), 0.0);
        // the median of chi with 2 dof: sqrt(2 ln 2)
        assert!((chi_quantile(2, 0.5) - (2.0 * 2f64.ln()).sqrt()).abs() < 1e-9);
        assert!(prior_radius(0.7, 16, 1.0) < prior_radius(0.3, 16, 1.0));
    }

    #[test]
    fn q_and_noise_are_checked() {
        for q in [0.0, 1.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(check_q(q).unwrap_err().to_string().contains("invalid q"), "{q}");
        }
        assert_eq!(Noise::parse("0.5:-2:3").unwrap(), Noise { level: 0.5, from: -2.0, to: 3.0 });
        assert!(Noise::parse("0.5:-2").is_err());
        assert!(Noise::parse("-1:0:1").is_err());
        assert_eq!(Noise::LATE.at(0.0), 0.3);
        assert_eq!(Noise::LATE.at(9.0), 0.0);
    }
}
