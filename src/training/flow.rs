//! Flow-matching training (SPEC 1, linear path): `x_t = (1-t)·x + t·ε`, the network regresses
//! `v = ε - x`. Adam with warm-up and cosine decay, an EMA of the weights (what ships),
//! checkpoints that a later run resumes from.

use crate::data::{ImageData, ImageSet, Lab};
use crate::error::{Error, Result};
use crate::nets::{Arch, Net};
use crate::sampling::rng::HostRng;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::{BurnpackStore, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::Path as FsPath;
use std::time::Instant;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// `moons`, `8gaussians`, `checkerboard`, `gmm` (2-D), or `fashion`, `emoji` (images).
    pub data: String,
    pub arch: Arch,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub warmup: usize,
    pub ema: f64,
    pub seed: u64,
    /// Fraction of labels replaced by the null label (classifier-free guidance).
    pub label_dropout: f64,
    /// The weights file written at the end and at every checkpoint (EMA weights).
    pub out: String,
    pub checkpoint_every: usize,
}

/// One progress report.
pub struct Progress {
    pub step: usize,
    pub steps: usize,
    pub loss: f64,
    pub steps_per_s: f64,
}

/// What a finished run reports (also written beside the weights as `.json`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub config: TrainConfig,
    pub params: usize,
    pub final_loss: f64,
    pub wall_s: f64,
    pub steps_done: usize,
}

enum Source {
    Lab(Lab),
    Images(ImageSet),
}

impl Source {
    /// A batch of data `[B, D]` and labels (with dropout to the null label).
    fn batch(&self, cfg: &TrainConfig, rng: &mut HostRng, device: &Device) -> (Tensor<2>, Option<Tensor<1, Int>>) {
        let b = cfg.batch;
        match self {
            Source::Lab(lab) => (crate::sampling::rng::tensor2(lab.sample(b, rng), b, 2, device), None),
            Source::Images(img) => {
                let d = img.dim();
                let mut pix = Vec::with_capacity(b * d);
                let mut labels = Vec::with_capacity(b);
                for _ in 0..b {
                    let i = (rng.uniform() * img.len() as f64) as usize % img.len();
                    pix.extend_from_slice(img.row(i));
                    labels.push(if rng.uniform() < cfg.label_dropout {
                        img.null_label() as i64
                    } else {
                        img.labels[i] as i64
                    });
                }
                let x = Tensor::from_data(TensorData::new(pix, [b, d]), device);
                (x, Some(Tensor::from_data(TensorData::new(labels, [b]), device)))
            }
        }
    }
}

/// Flattened copies of every float parameter, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().inner();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// `ema ← decay·ema + (1 - decay)·model`, parameter by parameter (same structure, same order).
struct Blend {
    src: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let src = self.src.next().expect("same structure");
        let decay = self.decay;
        param.map(|t| {
            let shape = t.shape();
            t.inner().mul_scalar(decay) + src.reshape(shape).mul_scalar(1.0 - decay)
        })
    }
}

/// A copy outside the autodiff graph, so that averaging never grows it.
struct Detach;

impl ModuleMapper for Detach {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.inner())
    }
}

/// The same module outside the autodiff graph (for inference after training).
pub(crate) fn detach<M: Module>(m: M) -> M {
    m.map(&mut Detach)
}

fn ema_update<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    ema.map(&mut Blend { src: c.0.into_iter(), decay })
}

fn count_params<M: Module>(m: &M) -> usize {
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0.iter().map(|t| t.dims()[0]).sum()
}

fn lr_at(cfg: &TrainConfig, step: usize) -> f64 {
    if step < cfg.warmup {
        return cfg.lr * (step + 1) as f64 / cfg.warmup as f64;
    }
    cosine(cfg.lr, (step - cfg.warmup) as f64 / (cfg.steps - cfg.warmup).max(1) as f64)
}

/// Cosine decay from `lr` to 5 % of it over progress `p` ∈ [0, 1].
pub(crate) fn cosine(lr: f64, p: f64) -> f64 {
    lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * p.min(1.0)).cos()))
}

/// Noise fractions: half uniform in t, half uniform in λ ∈ [-10, 10] (where samplers step).
fn times(b: usize, rng: &mut HostRng) -> Vec<f64> {
    (0..b)
        .map(|i| {
            if i % 2 == 0 {
                rng.uniform()
            } else {
                crate::sampling::schedule::Path::Linear.sigma(-10.0 + 20.0 * rng.uniform())
            }
        })
        .collect()
}

fn ckpt_dir(out: &str) -> String {
    format!("{out}.ckpt")
}

/// Trains (resuming from `OUT.ckpt/` when it exists) and writes the EMA weights to `out`.
pub fn train(cfg: &TrainConfig, device: &Device, mut progress: impl FnMut(&Progress)) -> Result<Summary> {
    if cfg.steps == 0 || cfg.batch == 0 {
        return Err(Error::invalid(if cfg.steps == 0 { "steps" } else { "batch" }, "must be at least 1"));
    }
    let source = match (Lab::parse(&cfg.data), ImageData::parse(&cfg.data)) {
        (Some(lab), _) => Source::Lab(lab),
        (_, Some(images)) => Source::Images(images.load(false)?),
        _ => {
            return Err(Error::invalid(
                "data",
                format!("'{}' is not moons, 8gaussians, checkerboard, gmm, fashion or emoji", cfg.data),
            ));
        }
    };
    if let (Arch::UNet(c), Source::Images(img)) = (&cfg.arch, &source)
        && (c.side, c.colours, c.classes) != (img.side, img.channels, img.classes.len())
    {
        return Err(Error::invalid("arch", format!("the U-Net's {c:?} does not fit {}'s images", cfg.data)));
    }
    let ad = device.clone().autodiff();
    // the initial weights come from the backend's generator: seeded, a run is reproducible
    ad.seed(cfg.seed);
    match (Net::init(&cfg.arch, &ad), &source) {
        (Net::Mlp(m, _), Source::Lab(_)) => run(cfg, m, &source, &ad, &mut progress, |m, x, t, _| m.forward(x, t)),
        (Net::UNet(m, c), Source::Images(_)) => run(cfg, m, &source, &ad, &mut progress, move |m, x, t, labels| {
            let b = x.dims()[0];
            let (k, s) = (c.colours, c.side);
            m.forward(x.reshape([b, k, s, s]), t, labels.expect("images have labels")).reshape([b, c.dim()])
        }),
        _ => Err(Error::invalid("arch", "the MLP trains on 2-D data, the U-Net on images")),
    }
}

fn run<M: Module + ModuleSnapshot + Clone>(
    cfg: &TrainConfig,
    mut model: M,
    source: &Source,
    device: &Device,
    progress: &mut impl FnMut(&Progress),
    forward: impl Fn(&M, Tensor<2>, Tensor<1>, Option<Tensor<1, Int>>) -> Tensor<2>,
) -> Result<Summary> {
    let dir = ckpt_dir(&cfg.out);
    // burnpack keeps parameter ids, which the optimizer's state is keyed by: loaded from
    // safetensors the model would get fresh ids, orphaning Adam's moments on every resume
    let model_path = format!("{dir}/model.bpk");
    let ema_path = format!("{dir}/ema.safetensors");
    let optim_path = format!("{dir}/optim.bpk");
    let state_path = format!("{dir}/state.json");
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut ema = detach(model.clone());
    let mut start = 0;
    let mut loss_avg = f64::NAN;
    if FsPath::new(&state_path).exists() {
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&state_path)
                .map_err(|e| Error::Model { path: state_path.clone(), reason: e.to_string() })?,
        )
        .map_err(|e| Error::Model { path: state_path.clone(), reason: e.to_string() })?;
        start = state["step"].as_u64().unwrap_or(0) as usize;
        loss_avg = state["loss"].as_f64().unwrap_or(f64::NAN);
        crate::nets::check_loaded(&model_path, model.load_from(&mut BurnpackStore::from_file(&model_path)))?;
        crate::nets::check_loaded(&ema_path, ema.load_from(&mut SafetensorsStore::from_file(&ema_path)))?;
        optim =
            optim.load(&optim_path).map_err(|e| Error::Model { path: optim_path.clone(), reason: e.to_string() })?;
        eprintln!("resuming from step {start} ({dir})");
    }
    let mut rng = HostRng::new(cfg.seed.wrapping_add(start as u64));
    let t0 = Instant::now();
    let save = |model: &M, ema: &M, optim: &ModuleOptimizer, step: usize, loss: f64| -> Result<()> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::Model { path: dir.clone(), reason: e.to_string() })?;
        let bad = |p: &str, e: String| Error::Model { path: p.into(), reason: e };
        model
            .save_into(&mut BurnpackStore::from_file(&model_path).overwrite(true))
            .map_err(|e| bad(&model_path, e.to_string()))?;
        ema.save_into(&mut SafetensorsStore::from_file(&ema_path).overwrite(true))
            .map_err(|e| bad(&ema_path, e.to_string()))?;
        optim.save(&optim_path).map_err(|e| bad(&optim_path, e.to_string()))?;
        let state = serde_json::json!({ "step": step, "loss": loss });
        std::fs::write(&state_path, state.to_string()).map_err(|e| bad(&state_path, e.to_string()))?;
        write_shipped(cfg, ema, step, loss, t0.elapsed().as_secs_f64())
    };
    for step in start..cfg.steps {
        let (x0, labels) = source.batch(cfg, &mut rng, device);
        let [b, d] = x0.dims();
        let t = times(b, &mut rng);
        let eps = rng.normal_tensor(b, d, device);
        let tt = crate::sampling::rng::tensor1(t, device);
        let tc = tt.clone().unsqueeze_dim::<2>(1);
        let xt = x0.clone() * tc.clone().neg().add_scalar(1.0) + eps.clone() * tc;
        let pred = forward(&model, xt, tt, labels);
        let loss = (pred - (eps - x0)).square().mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr_at(cfg, step), model, grads);
        // warm the EMA up: early weights are worth little
        let decay = cfg.ema.min((1.0 + step as f64) / (10.0 + step as f64));
        ema = ema_update(ema, &model, decay);
        if step % 50 == 0 || step + 1 == cfg.steps {
            let l = loss.inner().into_scalar::<f64>();
            if !l.is_finite() {
                return Err(Error::invalid(
                    "lr",
                    format!("the loss became {l} at step {step}; lower the learning rate"),
                ));
            }
            loss_avg = if loss_avg.is_finite() { 0.8 * loss_avg + 0.2 * l } else { l };
            let rate = (step + 1 - start) as f64 / t0.elapsed().as_secs_f64();
            progress(&Progress { step: step + 1, steps: cfg.steps, loss: loss_avg, steps_per_s: rate });
        }
        if (step + 1) % cfg.checkpoint_every.max(1) == 0 || step + 1 == cfg.steps {
            save(&model, &ema, &optim, step + 1, loss_avg)?;
        }
    }
    Ok(Summary {
        config: cfg.clone(),
        params: count_params(&ema),
        final_loss: loss_avg,
        wall_s: t0.elapsed().as_secs_f64(),
        steps_done: cfg.steps,
    })
}

/// The shipped file: the EMA weights with the architecture in the metadata, and a summary.
fn write_shipped<M: ModuleSnapshot + Module>(
    cfg: &TrainConfig,
    ema: &M,
    step: usize,
    loss: f64,
    wall: f64,
) -> Result<()> {
    crate::nets::save_with_arch(ema, &cfg.arch, &cfg.out, false)?;
    let summary = serde_json::json!({ "config": cfg, "params": count_params(ema), "steps_done": step, "loss": loss, "wall_s_this_run": wall });
    std::fs::write(format!("{}.json", cfg.out), serde_json::to_string_pretty(&summary).expect("json"))
        .map_err(|e| Error::Model { path: cfg.out.clone(), reason: e.to_string() })
}
