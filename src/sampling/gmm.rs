//! The analytic Gaussian mixture (SPEC 7), the project's oracle. Data
//! `Σₖ wₖ N(μₖ, τₖ² I)` have marginals `Σₖ wₖ N(α μₖ, (α²τₖ² + σ²) I)`, so log p, score,
//! Laplacian and Hessian products are closed form at every λ.

use crate::error::{Error, Result};
use crate::sampling::rng::{HostRng, tensor2};
use crate::sampling::schedule::Path;
use crate::sampling::score::ScoreModel;
use burn::tensor::{Device, Tensor, activation::softmax};

/// The mixture as written in JSON: `{"weights": [...], "means": [[...], ...], "stds": [...]}`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixtureSpec {
    pub weights: Vec<f64>,
    pub means: Vec<Vec<f64>>,
    pub stds: Vec<f64>,
}

impl MixtureSpec {
    /// Parses and validates; `origin` names the file in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let bad = |reason: String| Error::Model { path: origin.into(), reason };
        let spec: MixtureSpec = serde_json::from_str(text).map_err(|e| bad(format!("not a mixture file: {e}")))?;
        spec.validate().map_err(|e| bad(e.to_string()))?;
        Ok(spec)
    }

    pub fn validate(&self) -> Result<()> {
        let k = self.weights.len();
        if k == 0 {
            return Err(Error::invalid("weights", "the mixture has no components"));
        }
        if self.means.len() != k || self.stds.len() != k {
            return Err(Error::invalid(
                "means",
                format!("{k} weights but {} means and {} stds", self.means.len(), self.stds.len()),
            ));
        }
        let d = self.means[0].len();
        if d == 0 {
            return Err(Error::invalid("means", "components have dimension 0"));
        }
        if let Some(i) = self.means.iter().position(|m| m.len() != d) {
            return Err(Error::invalid(
                "means",
                format!("mean {i} has {} entries, mean 0 has {d}", self.means[i].len()),
            ));
        }
        if let Some(w) = self.weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return Err(Error::invalid("weights", format!("must be finite and > 0, got {w}")));
        }
        if let Some(s) = self.stds.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::invalid("stds", format!("must be finite and > 0, got {s}")));
        }
        if self.means.iter().flatten().any(|m| !m.is_finite()) {
            return Err(Error::invalid("means", "must be finite numbers"));
        }
        Ok(())
    }

    pub fn dim(&self) -> usize {
        self.means[0].len()
    }

    /// The data's variance per dimension: `Σₖ w̄ₖ(τₖ² + ‖μₖ - μ̄‖²/D)`.
    pub fn variance(&self) -> f64 {
        let total: f64 = self.weights.iter().sum();
        let d = self.dim();
        let mean: Vec<f64> =
            (0..d).map(|j| self.weights.iter().zip(&self.means).map(|(w, m)| w * m[j]).sum::<f64>() / total).collect();
        let spread = |m: &Vec<f64>| m.iter().zip(&mean).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / d as f64;
        self.weights.iter().zip(&self.means).zip(&self.stds).map(|((w, m), s)| w * (s * s + spread(m))).sum::<f64>()
            / total
    }

    /// Exact samples of the data distribution, `[n][D]`.
    pub fn sample(&self, n: usize, rng: &mut HostRng) -> Vec<Vec<f64>> {
        let total: f64 = self.weights.iter().sum();
        (0..n)
            .map(|_| {
                let mut u = rng.uniform() * total;
                let k = self
                    .weights
                    .iter()
                    .position(|w| {
                        u -= w;
                        u < 0.0
                    })
                    .unwrap_or(self.weights.len() - 1);
                self.means[k].iter().map(|m| m + self.stds[k] * rng.normal()).collect()
            })
            .collect()
    }
}

/// The mixture on a device, as a [`ScoreModel`] along a chosen path.
pub struct Gmm {
    spec: MixtureSpec,
    path: Path,
    log_w: Tensor<2>, // [1, K], normalised
    means: Tensor<2>, // [K, D]
    var: Tensor<2>,   // [1, K], τ²
}

/// Per-point quantities shared by every closed form.
struct Parts {
    /// responsibilities `[B, K]`
    r: Tensor<2>,
    /// squared distances to the scaled means `[B, K]`
    d2: Tensor<2>,
    /// marginal variances `[1, K]`
    v: Tensor<2>,
    /// scaled means `α μ` `[K, D]`
    am: Tensor<2>,
    /// `log p` `[B]`
    logp: Tensor<1>,
}

impl Gmm {
    pub fn new(spec: MixtureSpec, path: Path, device: &Device) -> Result<Self> {
        spec.validate()?;
        let (k, d) = (spec.weights.len(), spec.dim());
        let total: f64 = spec.weights.iter().sum();
        let log_w = tensor2(spec.weights.iter().map(|w| (w / total).ln()).collect(), 1, k, device);
        let means = tensor2(spec.means.iter().flatten().copied().collect(), k, d, device);
        let var = tensor2(spec.stds.iter().map(|s| s * s).collect(), 1, k, device);
        Ok(Gmm { spec, path, log_w, means, var })
    }

    pub fn spec(&self) -> &MixtureSpec {
        &self.spec
    }

    fn parts(&self, x: Tensor<2>, lambda: f64) -> Parts {
        let (a, s) = (self.path.alpha(lambda), self.path.sigma(lambda));
        let d = self.spec.dim() as f64;
        let v = self.var.clone().mul_scalar(a * a).add_scalar(s * s);
        let am = self.means.clone().mul_scalar(a);
        let diff = x.unsqueeze_dim::<3>(1) - am.clone().unsqueeze_dim::<3>(0); // [B, K, D]
        let d2 = diff.square().sum_dim(2).squeeze_dim::<2>(2);
        let log_norm = v.clone().mul_scalar(std::f64::consts::TAU).log().mul_scalar(-0.5 * d);
        let logits = self.log_w.clone() + log_norm - d2.clone() / v.clone().mul_scalar(2.0);
        let m = logits.clone().detach().max_dim(1); // [B, 1], a constant shift for stability
        let lse = (logits.clone() - m.clone()).exp().sum_dim(1).log() + m;
        let r = softmax(logits, 1);
        Parts { r, d2, v, am, logp: lse.squeeze_dim::<1>(1) }
    }

    /// `Σₖ rₖ/vₖ` and `Σₖ rₖ αμₖ/vₖ`: the score is `m - x·w`.
    fn score_of(p: &Parts, x: Tensor<2>) -> Tensor<2> {
        let rv = p.r.clone() / p.v.clone();
        rv.clone().matmul(p.am.clone()) - x * rv.sum_dim(1)
    }

    /// `E[x_data | x_λ]` in closed form (Tweedie's formula's exact counterpart).
    pub fn posterior_mean(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        let a = self.path.alpha(lambda);
        let p = self.parts(x.clone(), lambda);
        // per component: μₖ + (aτₖ²/vₖ)(x - aμₖ)
        let gain = self.var.clone().mul_scalar(a) / p.v.clone(); // [1, K]
        let shrink = (p.r.clone() * gain.clone()).sum_dim(1); // [B, 1]
        p.r.clone().matmul(self.means.clone()) - (p.r * gain).matmul(p.am) + x * shrink
    }
}

impl ScoreModel for Gmm {
    fn dim(&self) -> usize {
        self.spec.dim()
    }
    fn path(&self) -> Path {
        self.path
    }
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        let p = self.parts(x.clone(), lambda);
        Self::score_of(&p, x)
    }
    fn log_prob(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        Some(self.parts(x, lambda).logp)
    }
    fn data_variance(&self) -> f64 {
        self.spec.variance()
    }
    /// `Δ log p = Σₖ rₖ(d²ₖ/vₖ² - D/vₖ) - ‖s‖²`.
    fn laplacian(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        let d = self.spec.dim() as f64;
        let p = self.parts(x.clone(), lambda);
        let s = Self::score_of(&p, x);
        let per = p.d2.clone() / p.v.clone().square() - p.v.clone().recip().mul_scalar(d);
        Some((p.r * per).sum_dim(1).squeeze_dim::<1>(1) - s.square().sum_dim(1).squeeze_dim::<1>(1))
    }
    /// `H u = Σₖ rₖ gₖ(gₖ·u) - u Σₖ rₖ/vₖ - s(s·u)` with `gₖ = (αμₖ - x)/vₖ`.
    fn hvp(&self, x: Tensor<2>, lambda: f64, u: Tensor<2>) -> Option<Tensor<2>> {
        let p = self.parts(x.clone(), lambda);
        let s = Self::score_of(&p, x.clone());
        let rv = p.r.clone() / p.v.clone(); // [B, K]
        let xu = (x.clone() * u.clone()).sum_dim(1); // [B, 1]
        let gu = (u.clone().matmul(p.am.clone().transpose()) - xu) / p.v.clone(); // gₖ·u, [B, K]
        let c = rv.clone() * gu; // rₖ(gₖ·u)/vₖ
        let first = c.clone().matmul(p.am) - x * c.sum_dim(1);
        let su = (s.clone() * u.clone()).sum_dim(1);
        Some(first - u * rv.sum_dim(1) - s * su)
    }
}

/// Reads a mixture file. Errors name the file and what is wrong with it.
pub fn load_spec(path: &str) -> Result<MixtureSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })?;
    MixtureSpec::from_json(&text, path)
}
