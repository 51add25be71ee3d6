//! A run of one method as a stepper: the state after every step is there to read (the page
//! draws each one), the run can stop between steps, and [`Sampler::finish`] reads it back.

use crate::error::{Error, Result};
use crate::sampling::density::{Divergence, Track, start_log_prob};
use crate::sampling::guidance::{Guards, Guidance, Method, Rates, prior_radius};
use crate::sampling::rng::BatchRng;
use crate::sampling::schedule::Window;
use crate::sampling::score::{Rows, ScoreModel};
use crate::sampling::solver::{self, Solver};
use burn::tensor::{Tensor, TensorData};
use std::cell::Cell;
use std::rc::Rc;

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub method: Method,
    pub solver: Solver,
    pub steps: usize,
    pub window: Window,
    pub seed: u64,
    pub batch: usize,
    pub divergence: Divergence,
    pub guards: Guards,
    /// Index of this run's first sample when one batch is split over several runs (the
    /// page's workers): sample k draws its latent, noise and probes from `(seed, first + k)`.
    #[serde(default)]
    pub first: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            method: Method::Plain,
            solver: Solver::Euler,
            steps: 64,
            window: Window::default(),
            seed: 0,
            batch: 16,
            divergence: Divergence::Off,
            guards: Guards::default(),
            first: 0,
        }
    }
}

/// What one run may ask for, chosen from measured cost (README, "Limits"); a request beyond
/// them is refused before any work, since it would run for hours or outgrow the memory of the
/// machine (natively) or of a browser tab (wasm32, 4 GiB address space at most).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Steps: RK4 reaches f64 round-off on the mixtures by 1,000; 20,000 Fashion-MNIST steps
    /// at batch 16 take about 4 minutes natively in f32 (12 ms per plain step).
    pub steps: usize,
    pub batch: usize,
    /// Hutchinson probes: each is one more backward pass over the batch.
    pub probes: usize,
    /// Batch × dimension: the state's size, which the network's activations scale with.
    pub values: usize,
}

/// `values`: one Fashion-MNIST image (784 values) peaks at about 2.3 MB in f32 with autodiff
/// (Hutchinson log p), 4.6 MB in f64, 1 MB on the host kernels (measured, batch 256), so
/// 2²¹ values (2,674 images) stay under 12 GB natively and 2¹⁸ (334 images per worker)
/// under 0.8 GB in a browser tab; 2-D models reach the batch bound first.
pub const LIMITS: Limits = if cfg!(target_arch = "wasm32") {
    Limits { steps: 20_000, batch: 16_384, probes: 64, values: 1 << 18 }
} else {
    Limits { steps: 20_000, batch: 1 << 20, probes: 64, values: 1 << 21 }
};

impl Settings {
    /// Refuses a request beyond [`LIMITS`] for a model of dimension `d`, naming the setting.
    pub fn check_limits(&self, d: usize) -> Result<()> {
        let over = |name: &str, value: usize, bound: usize, what: &str| {
            Error::invalid(name, format!("{value} is more than this build allows ({bound}{what})"))
        };
        if self.steps > LIMITS.steps {
            return Err(over("steps", self.steps, LIMITS.steps, ""));
        }
        if self.batch > LIMITS.batch {
            return Err(over("batch", self.batch, LIMITS.batch, ""));
        }
        if let Divergence::Hutchinson { probes } = self.divergence
            && probes > LIMITS.probes
        {
            return Err(over("probes", probes, LIMITS.probes, ""));
        }
        let values = self.batch.saturating_mul(d);
        if values > LIMITS.values {
            return Err(over(
                "batch",
                self.batch,
                LIMITS.values / d.max(1),
                &format!(" in {d} dimensions: batch × dimension is at most {}", LIMITS.values),
            ));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<()> {
        self.method.validate()?;
        self.window.validate()?;
        if self.steps == 0 {
            return Err(Error::invalid("steps", "must be at least 1"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("batch", "must be at least 1"));
        }
        if let Divergence::Hutchinson { probes: 0 } = self.divergence {
            return Err(Error::invalid("probes", "must be at least 1"));
        }
        match self.method {
            Method::DgExact { .. } if self.divergence == Divergence::Off => {
                Err(Error::invalid("logp", "dg-exact needs a divergence: use exact or hutchinson"))
            }
            Method::Sdg { .. } if self.solver != Solver::Euler => {
                Err(Error::invalid("solver", "sdg integrates with Euler–Maruyama: use euler"))
            }
            _ => Ok(()),
        }
    }
}

/// Counts score evaluations (the network's forward passes).
struct Counted {
    model: Rc<dyn ScoreModel>,
    calls: Cell<usize>,
}

impl ScoreModel for Counted {
    fn dim(&self) -> usize {
        self.model.dim()
    }
    fn path(&self) -> crate::sampling::schedule::Path {
        self.model.path()
    }
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        self.calls.set(self.calls.get() + 1);
        self.model.score(x, lambda)
    }
    fn log_prob(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        self.model.log_prob(x, lambda)
    }
    fn flops_per_sample(&self) -> Option<f64> {
        self.model.flops_per_sample()
    }
    fn laplacian(&self, x: Tensor<2>, lambda: f64) -> Option<Tensor<1>> {
        self.model.laplacian(x, lambda)
    }
    fn hvp(&self, x: Tensor<2>, lambda: f64, v: Tensor<2>) -> Option<Tensor<2>> {
        self.model.hvp(x, lambda, v)
    }
    fn data_variance(&self) -> f64 {
        self.model.data_variance()
    }
    fn score_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2> {
        self.calls.set(self.calls.get() + 1);
        self.model.score_rows(x, lambda, rows)
    }
    fn score_and_jvp(&self, x: Tensor<2>, lambda: f64, z: Tensor<2>, rows: Rows) -> Option<(Tensor<2>, Tensor<2>)> {
        let out = self.model.score_and_jvp(x, lambda, z, rows)?;
        self.calls.set(self.calls.get() + 1); // only an evaluation that happened counts
        Some(out)
    }
}

/// What a finished run hands back, on the host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// The starting point after any rescaling (PG radius, DG median radius).
    pub latent: Vec<Vec<f64>>,
    pub samples: Vec<Vec<f64>>,
    pub logp_start: Vec<f64>,
    /// Tracked log p at the end; `None` when the divergence is off.
    pub logp: Option<Vec<f64>>,
    /// `∫(-div v)dλ`, the plain flow's part of the change.
    #[serde(skip)]
    pub plain: Vec<f64>,
    pub guard_steps: usize,
    pub nfe: usize,
}

pub struct Sampler {
    model: Counted,
    settings: Settings,
    guidance: Guidance,
    grid: Vec<f64>,
    done: usize,
    latent: Tensor<2>,
    state: Track,
    rng: BatchRng,
    guard_steps: Tensor<1>,
}

impl Sampler {
    pub fn new(model: Rc<dyn ScoreModel>, settings: Settings, device: &burn::tensor::Device) -> Result<Self> {
        settings.validate()?;
        settings.check_limits(model.dim())?;
        let (d, w) = (model.dim(), settings.window);
        let sigma_min = model.path().sigma(w.lambda_min);
        let mut rng = BatchRng::new(settings.seed, settings.first, settings.batch);
        let mut latent = rng.normal_tensor(d, device).mul_scalar(sigma_min);
        let radius = match settings.method {
            Method::Prior { q } => Some(prior_radius(q, d, sigma_min)),
            Method::Dg { .. } | Method::Sdg { .. } => Some(prior_radius(0.5, d, sigma_min)),
            _ => None,
        };
        if let Some(r) = radius {
            let norm = latent.clone().square().sum_dim(1).sqrt();
            latent = latent / norm.div_scalar(r);
        }
        let logp = start_log_prob(&*model, &latent, w.lambda_min);
        let target_rate = match settings.method {
            Method::DgExact { target_logp } => Some(logp.clone().neg().add_scalar(target_logp).div_scalar(w.width())),
            _ => None,
        };
        let guidance =
            Guidance { method: settings.method, divergence: settings.divergence, guards: settings.guards, target_rate };
        let state = Track { x: latent.clone(), plain: Tensor::zeros([settings.batch], device), logp };
        Ok(Sampler {
            model: Counted { model, calls: Cell::new(0) },
            grid: w.grid(settings.steps),
            settings,
            guidance,
            done: 0,
            latent,
            state,
            rng,
            guard_steps: Tensor::zeros([1], device),
        })
    }

    /// Advances one step; false once the run is over. Nothing is read back.
    pub fn step(&mut self) -> bool {
        if self.is_done() {
            return false;
        }
        let (lambda, h) = (self.grid[self.done], self.grid[self.done + 1] - self.grid[self.done]);
        let (model, guidance, rng) = (&self.model, &self.guidance, &mut self.rng);
        let mut flag = Tensor::zeros([1], &self.latent.device());
        let next = if let Method::Sdg { .. } = self.settings.method {
            // Euler–Maruyama with noise orthogonal to the score: no first-order change of log p
            let Rates { x, logp, plain, guarded, score } = guidance.rates(model, &self.state.x, lambda, rng);
            flag = guarded;
            let y = &self.state;
            let mut x_next = y.x.clone() + x.mul_scalar(h);
            let phi = self.settings.method.noise().at(lambda) * model.path().sigma(lambda);
            if phi > 0.0 {
                let xi = rng.normal_tensor(model.dim(), &y.x.device());
                let s2 = score.clone().square().sum_dim(1).clamp_min(1e-300);
                let along = (score.clone() * xi.clone()).sum_dim(1) / s2;
                x_next = x_next + (xi - score * along).mul_scalar(phi * h.abs().sqrt());
            }
            Ok(Track {
                x: x_next,
                logp: y.logp.clone() + logp.mul_scalar(h),
                plain: y.plain.clone() + plain.mul_scalar(h),
            })
        } else {
            solver::step(self.settings.solver, &self.state, lambda, h, |y, l| {
                let r = guidance.rates(model, &y.x, l, rng);
                flag = flag.clone().max_pair(r.guarded);
                Ok(Track { x: r.x, logp: r.logp, plain: r.plain })
            })
        };
        self.state = next.expect("drifts do not fail");
        self.guard_steps = self.guard_steps.clone() + flag;
        self.done += 1;
        true
    }

    /// Runs the remaining steps.
    pub fn run(&mut self) {
        while self.step() {}
    }

    pub fn is_done(&self) -> bool {
        self.done + 1 >= self.grid.len()
    }
    pub fn steps_done(&self) -> usize {
        self.done
    }
    /// λ of the current state.
    pub fn lambda(&self) -> f64 {
        self.grid[self.done]
    }
    pub fn state(&self) -> &Track {
        &self.state
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn nfe(&self) -> usize {
        self.model.calls.get()
    }
    /// Steps where a guard acted so far, still on the device.
    pub fn guard_steps(&self) -> Tensor<1> {
        self.guard_steps.clone()
    }
    /// Reads the run back (native: blocking). A non-finite number is an error, never a result.
    pub fn finish(&self) -> Result<Outcome> {
        let tracked = self.settings.divergence != Divergence::Off;
        let start = start_log_prob(&self.model, &self.latent, self.settings.window.lambda_min);
        let out = Outcome {
            latent: host2(self.latent.clone())?,
            samples: host2(self.state.x.clone())?,
            logp_start: host1(start)?,
            logp: if tracked { Some(host1(self.state.logp.clone())?) } else { None },
            plain: host1(self.state.plain.clone())?,
            guard_steps: host1(self.guard_steps.clone())?[0] as usize,
            nfe: self.nfe(),
        };
        let finite = out.samples.iter().flatten().chain(out.logp.iter().flatten()).all(|v| v.is_finite());
        if !finite {
            return Err(Error::invalid(
                "steps",
                format!(
                    "the run diverged to NaN or infinity within {} steps ({} guarded); use more steps or a q nearer 0.5",
                    self.done, out.guard_steps
                ),
            ));
        }
        Ok(out)
    }
}

/// Reads a `[B]` tensor back as f64.
pub fn host1(t: Tensor<1>) -> Result<Vec<f64>> {
    t.try_into_vec_as::<f64>().map_err(|e| Error::Backend(format!("readback failed: {e:?}")))
}

/// Reads a `[B, D]` tensor back as rows.
pub fn host2(t: Tensor<2>) -> Result<Vec<Vec<f64>>> {
    let [_, d] = t.dims();
    let flat = t.try_into_vec_as::<f64>().map_err(|e| Error::Backend(format!("readback failed: {e:?}")))?;
    Ok(flat.chunks(d.max(1)).map(<[f64]>::to_vec).collect())
}

/// Host rows as a `[B, D]` tensor; rows must be non-empty, equally long and finite.
pub fn rows(rows: &[Vec<f64>], d: usize, name: &str, device: &burn::tensor::Device) -> Result<Tensor<2>> {
    if rows.is_empty() {
        return Err(Error::invalid(name, "no rows"));
    }
    if let Some(i) = rows.iter().position(|r| r.len() != d) {
        return Err(Error::invalid(
            name,
            format!("row {i} has {} values, the model's dimension is {d}", rows[i].len()),
        ));
    }
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::invalid(name, "contains NaN or infinite numbers"));
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_data(TensorData::new(flat, [rows.len(), d]), device))
}
