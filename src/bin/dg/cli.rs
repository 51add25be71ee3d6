//! The command line itself: arguments, the commands, JSON out.

use clap::{Args, Parser, Subcommand};
use dg::sampling::alignment;
use dg::sampling::density::{Divergence, encode};
use dg::sampling::device::{Backend, Precision, open};
use dg::sampling::guidance::{Method, Noise};
use dg::sampling::rng::BatchRng;
use dg::sampling::sampler::{Sampler, Settings, host1, host2, rows};
use dg::sampling::schedule::{Path, Window};
use dg::sampling::solver::Solver;
use dg::{Error, Result, nets};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "dg", version, about = "Density guidance for flow models")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate samples with a method; prints latent, samples, tracked log p, guard steps, NFE.
    Sample {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        method: MethodArgs,
        /// How log p is tracked: auto, exact, hutchinson or off. `auto` is exact up to 64
        /// dimensions and Hutchinson above (an image's exact divergence costs D backward passes).
        #[arg(long, default_value = "auto")]
        logp: String,
        /// Also write the samples as a PNG grid (image models).
        #[arg(long)]
        png: Option<String>,
    },
    /// Log-density of given samples by encoding them back to the prior.
    Logp {
        #[command(flatten)]
        common: Common,
        /// JSON file `{"samples": [[..], ..]}`.
        #[arg(long)]
        input: String,
        /// auto, exact or hutchinson (`auto`: exact up to 64 dimensions).
        #[arg(long, default_value = "auto")]
        divergence: String,
    },
    /// Score alignment of random latents, with and without the score at the end.
    Align {
        #[command(flatten)]
        common: Common,
    },
    /// Train a flow model (flow matching); writes the EMA weights and resumes from OUT.ckpt/.
    Train(TrainArgs),
    /// An image data set as training sees it: images per class, and a PNG grid of some.
    Data {
        /// fashion or emoji.
        #[arg(long)]
        data: String,
        /// Write the first N images of each class as a PNG grid (one class per row).
        #[arg(long)]
        png: Option<String>,
        #[arg(long, default_value_t = 16)]
        per_class: usize,
    },
    /// Copy a weights file with its floats stored in half precision (f16).
    Half {
        #[arg(long)]
        input: String,
        #[arg(long)]
        out: String,
    },
    /// Train the Fashion-MNIST classifier whose features `dg eval` compares.
    Classifier(ClassifierArgs),
    /// Measure the methods on the Fashion-MNIST model: Fréchet distance, log p, PNG size,
    /// per class and CFG, trajectories, score alignment; writes a report with figures.
    Eval(crate::eval::EvalArgs),
    /// Time every method against the plain ODE on the same model; prints numbers.
    Bench {
        #[command(flatten)]
        common: Common,
        /// Timed runs per method (after one warm-up run).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// How log p is tracked while timing: exact, hutchinson or off.
        #[arg(long, default_value = "off")]
        logp: String,
        /// Which methods to time (comma-separated); a slow device may time only dg.
        #[arg(long, default_value = "plain,prior,dg,sdg")]
        methods: String,
    },
}

#[derive(Args)]
struct TrainArgs {
    /// moons, 8gaussians, checkerboard, gmm, fashion or emoji.
    #[arg(long)]
    data: String,
    /// The weights file to write (e.g. models/moons.safetensors).
    #[arg(long)]
    out: String,
    #[arg(long, default_value_t = 5000)]
    steps: usize,
    #[arg(long, default_value_t = 256)]
    batch: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// EMA decay of the weights.
    #[arg(long, default_value_t = 0.999)]
    ema: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// MLP width (2-D) or U-Net base channels (fashion, emoji).
    #[arg(long)]
    width: Option<usize>,
    /// U-Net channels at the lowest level (default twice --width).
    #[arg(long)]
    bottom: Option<usize>,
    /// U-Net residual blocks at the lowest level.
    #[arg(long, default_value_t = 1)]
    mid_blocks: usize,
    #[arg(long, default_value_t = 0.1)]
    label_dropout: f64,
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    /// cpu or wgpu.
    #[arg(long, default_value = "cpu")]
    backend: String,
}

#[derive(Args)]
struct ClassifierArgs {
    #[arg(long, default_value = "models/classifier.safetensors")]
    out: String,
    #[arg(long, default_value_t = 3000)]
    steps: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu or wgpu.
    #[arg(long, default_value = "cpu")]
    backend: String,
}

fn classifier(a: ClassifierArgs) -> Result<Value> {
    let device = open(Backend::parse(&a.backend)?, Precision::F32)?;
    let fashion = dg::data::ImageData::Fashion;
    let (train, test) = (fashion.load(false)?, fashion.load(true)?);
    let t = Instant::now();
    let net = dg::training::classifier::train(&train, a.steps, a.batch, a.lr, a.seed, &device, |step, loss| {
        eprintln!("classifier step {step}/{} loss {loss:.4} ({:.0} s)", a.steps, t.elapsed().as_secs_f64());
    })?;
    let wall = t.elapsed().as_secs_f64();
    net.save(&a.out)?;
    let accuracy = dg::training::classifier::accuracy(&net, &test, &device)?;
    let summary = json!({
        "command": format!("dg classifier --out {} --steps {} --batch {} --lr {} --seed {}", a.out, a.steps, a.batch, a.lr, a.seed),
        "test_accuracy": accuracy, "test_images": test.len(), "wall_s": wall,
    });
    std::fs::write(format!("{}.json", a.out), serde_json::to_string_pretty(&summary).expect("json"))
        .map_err(|e| Error::Model { path: a.out.clone(), reason: e.to_string() })?;
    Ok(summary)
}

fn data_set(name: &str, png: Option<&str>, per_class: usize) -> Result<Value> {
    let kind = dg::data::ImageData::parse(name)
        .ok_or_else(|| Error::invalid("data", format!("'{name}' is not fashion or emoji")))?;
    let set = kind.load(false)?;
    let mut counts = vec![0usize; set.classes.len()];
    set.labels.iter().for_each(|&l| counts[usize::from(l)] += 1);
    if let Some(file) = png {
        let rows: Vec<Vec<f64>> = (0..set.classes.len())
            .flat_map(|c| {
                let of_class: Vec<usize> = (0..set.len()).filter(|&i| usize::from(set.labels[i]) == c).collect();
                (0..per_class).map(move |k| of_class.get(k).copied())
            })
            .map(|i| i.map_or(vec![-1.0; set.dim()], |i| set.row(i).iter().map(|&v| f64::from(v)).collect()))
            .collect();
        let bytes = dg::training::eval::png_grid(&rows, set.channels, per_class)?;
        std::fs::write(file, bytes).map_err(|e| Error::Input { path: file.into(), reason: e.to_string() })?;
    }
    let classes: serde_json::Map<String, Value> =
        set.classes.iter().zip(&counts).map(|(c, n)| (c.to_string(), json!(n))).collect();
    Ok(json!({ "data": name, "images": set.len(), "channels": set.channels, "side": set.side, "classes": classes }))
}

fn train(a: TrainArgs) -> Result<Value> {
    use dg::nets::{Arch, MlpConfig, UNetConfig};
    let arch = match dg::data::ImageData::parse(&a.data) {
        Some(images) => {
            let (colours, side) = images.shape();
            let classes = images.classes().len();
            if a.mid_blocks == 0 || a.bottom == Some(0) {
                return Err(Error::invalid("U-Net", "--bottom and --mid-blocks must be at least 1"));
            }
            let (channels, bottom, mid_blocks) = (a.width.unwrap_or(16), a.bottom, a.mid_blocks);
            Arch::UNet(UNetConfig { side, colours, classes, channels, bottom, mid_blocks, ..Default::default() })
        }
        None => Arch::Mlp(MlpConfig { width: a.width.unwrap_or(128), ..Default::default() }),
    };
    let device = open(Backend::parse(&a.backend)?, Precision::F32)?;
    let cfg = dg::training::flow::TrainConfig {
        data: a.data,
        arch,
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        warmup: a.warmup,
        ema: a.ema,
        seed: a.seed,
        label_dropout: a.label_dropout,
        out: a.out,
        checkpoint_every: a.checkpoint_every,
    };
    // a training step's arithmetic: forward, and a backward of about twice its cost
    let step_flops = match &cfg.arch {
        Arch::UNet(c) => 3.0 * c.flops() * cfg.batch as f64,
        Arch::Mlp(_) => f64::NAN,
    };
    // a bar redrawn in place on a terminal; one line per report in a log file
    let bar = indicatif::ProgressBar::with_draw_target(Some(cfg.steps as u64), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("training [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("#>."),
    );
    let terminal = std::io::stderr().is_terminal();
    let summary = dg::training::flow::train(&cfg, &device, |p| {
        let eta = (p.steps - p.step) as f64 / p.steps_per_s.max(1e-9);
        let gflops = p.steps_per_s * step_flops / 1e9;
        let msg = format!("loss {:.4} {:.2} it/s {gflops:.1} GFLOP/s eta {eta:.0}s", p.loss, p.steps_per_s);
        match terminal {
            true => {
                bar.set_position(p.step as u64);
                bar.set_message(msg);
            }
            false => eprintln!("training {}/{} {msg}", p.step, p.steps),
        }
    });
    bar.finish_and_clear();
    let summary = summary?;
    Ok(serde_json::to_value(summary).expect("json"))
}

#[derive(Args)]
struct Common {
    /// gmm:FILE.json, a shipped model (moons, 8gaussians, checkerboard, gmm, fashion) or a
    /// .safetensors file from `dg train`.
    #[arg(long)]
    model: String,
    /// Class of a conditional model, by number or name (fashion: a garment; emoji: a group,
    /// e.g. "Food & Drink" or food); `none` samples the unconditional model (the null
    /// label). All classes in turn when absent.
    #[arg(long)]
    class: Option<String>,
    /// Classifier-free guidance scale for the conditional model.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    cfg: f64,
    /// linear, vp or ve.
    #[arg(long, default_value = "linear")]
    path: String,
    #[arg(long, default_value_t = -10.0, allow_negative_numbers = true)]
    lambda_min: f64,
    #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
    lambda_max: f64,
    /// auto, f64 or f32. `auto`: f64 for analytic mixtures (exactness), f32 for networks
    /// (their weights are f32; f64 only costs time, about 3× per step).
    #[arg(long, default_value = "auto")]
    precision: String,
    /// cpu or wgpu (wgpu runs in f32).
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// euler, heun or rk4.
    #[arg(long, default_value = "euler")]
    solver: String,
    #[arg(long, default_value_t = 64)]
    steps: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Rademacher probes per step for Hutchinson estimates.
    #[arg(long, default_value_t = 1)]
    probes: usize,
}

#[derive(Args)]
struct MethodArgs {
    /// plain, prior, dg, dg-exact or sdg.
    #[arg(long, default_value = "plain")]
    method: String,
    /// Quantile: larger is a higher log-density, smoother.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    q: f64,
    /// DG: the λ at which the push starts (absent: the whole path, the paper's form). On the
    /// Fashion-MNIST model, -2 keeps low q free of speckle (docs/findings.md).
    #[arg(long, allow_negative_numbers = true)]
    dg_start: Option<f64>,
    /// Final log p for dg-exact.
    #[arg(long, allow_negative_numbers = true)]
    target_logp: Option<f64>,
    /// SDG noise: early, late, none or LEVEL:FROM:TO.
    #[arg(long, default_value = "late", allow_negative_numbers = true)]
    noise: String,
    /// SDG's exact variant (removes the sᵀHs bias).
    #[arg(long)]
    sdg_exact: bool,
}

impl MethodArgs {
    fn method(&self) -> Result<Method> {
        let q = self.q;
        Ok(match self.method.as_str() {
            "plain" => Method::Plain,
            "prior" => Method::Prior { q },
            "dg" => Method::Dg { q, start: self.dg_start },
            "dg-exact" => Method::DgExact {
                target_logp: self
                    .target_logp
                    .ok_or_else(|| Error::invalid("target-logp", "dg-exact needs --target-logp"))?,
            },
            "sdg" => Method::Sdg { q, noise: Noise::parse(&self.noise)?, exact: self.sdg_exact },
            m => {
                return Err(Error::invalid("method", format!("'{m}' is not one of plain, prior, dg, dg-exact, sdg")));
            }
        })
    }
}

struct Opened {
    model: std::rc::Rc<dyn dg::sampling::score::ScoreModel>,
    device: burn::tensor::Device,
    precision: Precision,
    settings: Settings,
}

/// Above this dimension `auto` estimates the divergence (Hutchinson, `--probes` products per
/// step) instead of taking D vector-Jacobian products: Fashion-MNIST's exact one is ~5 s per image.
const EXACT_DIVERGENCE_MAX_DIM: usize = 64;

impl Common {
    /// `--precision auto`: f64 where the model is exact (a mixture on the CPU), else f32.
    fn precision(&self, backend: Backend) -> Result<Precision> {
        match self.precision.as_str() {
            "auto" if backend == Backend::Cpu && self.model.starts_with("gmm:") => Ok(Precision::F64),
            "auto" => Ok(Precision::F32),
            other => Precision::parse(other),
        }
    }

    /// The model, the device and the settings, every check done before any work.
    fn open(&self, method: Method, logp: &str) -> Result<Opened> {
        let backend = Backend::parse(&self.backend)?;
        let precision = self.precision(backend)?;
        let device = open(backend, precision)?;
        let names = dg::data::ImageData::parse(&self.model).map_or(&[][..], |d| d.classes());
        let classes = self.class.as_deref().map(|c| dg::data::parse_class(c, names)).transpose()?.into_iter().collect();
        let cond = nets::Conditioning { classes, cfg: self.cfg, first: 0 };
        let model = nets::open(&self.model, Path::parse(&self.path)?, &cond, &device)?;
        let logp = match logp {
            "auto" if model.dim() <= EXACT_DIVERGENCE_MAX_DIM => "exact",
            "auto" => "hutchinson",
            other => other,
        };
        let settings = Settings {
            method,
            solver: Solver::parse(&self.solver)?,
            steps: self.steps,
            window: Window::new(self.lambda_min, self.lambda_max)?,
            seed: self.seed,
            batch: self.batch,
            divergence: Divergence::parse(logp, self.probes)?,
            ..Default::default()
        };
        settings.validate()?;
        settings.check_limits(model.dim())?;
        Ok(Opened { model, device, precision, settings })
    }
}

/// A bar on stderr for a loop of `len` ticks, shown only on a terminal and only once the
/// work has lasted two seconds (short runs stay quiet).
struct Progress {
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl Progress {
    fn new(len: usize, what: &str) -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::hidden());
        let style =
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, eta {eta}")
                .expect("a valid template")
                .progress_chars("#>.");
        bar.set_style(style);
        bar.set_message(what.to_string());
        Progress { bar, started: Instant::now() }
    }

    fn tick(&self) {
        self.bar.inc(1);
        let shown = !self.bar.is_hidden();
        if !shown && self.started.elapsed().as_secs_f64() > 2.0 && std::io::stderr().is_terminal() {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Runs a sampler to its end, one progress tick per step.
fn run_to_end(sampler: &mut Sampler, what: &str) {
    let progress = Progress::new(sampler.settings().steps, what);
    while sampler.step() {
        progress.tick();
    }
}

fn sample(o: &Opened, png: Option<&str>) -> Result<Value> {
    let mut sampler = Sampler::new(o.model.clone(), o.settings.clone(), &o.device)?;
    run_to_end(&mut sampler, "sampling");
    let out = sampler.finish()?;
    if let Some(file) = png {
        let cols = (out.samples.len() as f64).sqrt().ceil() as usize;
        let (channels, _) = nets::image_shape(o.model.dim())
            .ok_or_else(|| Error::invalid("png", "the model's samples are not images"))?;
        let bytes = dg::training::eval::png_grid(&out.samples, channels, cols)?;
        std::fs::write(file, bytes).map_err(|e| Error::Input { path: file.into(), reason: e.to_string() })?;
    }
    Ok(json!({
        "latent": out.latent, "samples": out.samples, "logp_start": out.logp_start,
        "logp": out.logp, "guard_steps": out.guard_steps, "nfe": out.nfe,
    }))
}

fn logp(o: &Opened, input: &str) -> Result<Value> {
    #[derive(serde::Deserialize)]
    struct Input {
        samples: Vec<Vec<f64>>,
    }
    let bad = |reason: String| Error::Input { path: input.into(), reason };
    let text = std::fs::read_to_string(input).map_err(|e| bad(e.to_string()))?;
    let parsed: Input =
        serde_json::from_str(&text).map_err(|e| bad(format!("expected {{\"samples\": [[..], ..]}}: {e}")))?;
    let s = &o.settings;
    Settings { batch: parsed.samples.len(), ..s.clone() }.check_limits(o.model.dim())?;
    let x = rows(&parsed.samples, o.model.dim(), "samples", &o.device).map_err(|e| bad(e.to_string()))?;
    let lp = encode(
        &*o.model,
        x,
        s.window,
        s.steps,
        s.solver,
        s.divergence,
        &mut BatchRng::new(s.seed, 0, parsed.samples.len()),
    )?;
    let lp = host1(lp)?;
    if lp.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("steps", "encoding produced non-finite log p; use more steps"));
    }
    Ok(json!({ "logp": lp }))
}

fn align(o: &Opened) -> Result<Value> {
    let s = &o.settings;
    let mut rng = BatchRng::new(s.seed, 0, s.batch);
    let sigma = o.model.path().sigma(s.window.lambda_min);
    let latent = rng.normal_tensor(o.model.dim(), &o.device).mul_scalar(sigma);
    let a = alignment::score_alignment(&*o.model, latent.clone(), s.window, s.steps, s.solver, s.divergence, &mut rng)?;
    Ok(json!({
        "latent": host2(latent)?,
        "sa_with_score": host1(a.with_score)?,
        "sa_without_score": host1(a.without_score)?,
    }))
}

/// Each method's ms per step, the fastest of `repeats` runs taken in turn (interleaving the
/// methods spreads the machine's noise over all of them), relative to the plain ODE.
fn bench(common: &Common, repeats: usize, logp: &str, only: &str) -> Result<Value> {
    let all = [
        ("plain", Method::Plain),
        ("prior", Method::Prior { q: 0.7 }),
        ("dg", Method::Dg { q: 0.3, start: None }),
        ("sdg", Method::Sdg { q: 0.3, noise: Noise::LATE, exact: false }),
    ];
    let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
    if let Some(bad) = wanted.iter().find(|w| !all.iter().any(|(n, _)| n == *w)) {
        return Err(Error::invalid("methods", format!("'{bad}' is not one of plain, prior, dg, sdg")));
    }
    let methods: Vec<(&str, Method)> = all.into_iter().filter(|(n, _)| wanted.contains(n)).collect();
    let opened = methods.iter().map(|&(_, m)| common.open(m, logp)).collect::<Result<Vec<_>>>()?;
    let timed = |o: &Opened| -> Result<(f64, usize)> {
        let t = Instant::now();
        let mut sampler = Sampler::new(o.model.clone(), o.settings.clone(), &o.device)?;
        run_to_end(&mut sampler, "timing");
        let out = sampler.finish()?;
        Ok((t.elapsed().as_secs_f64() * 1e3 / o.settings.steps as f64, out.nfe))
    };
    let mut best = vec![(f64::INFINITY, 0); methods.len()];
    for round in 0..=repeats.max(1) {
        for (o, b) in opened.iter().zip(best.iter_mut()) {
            let (ms, nfe) = timed(o)?;
            if round > 0 {
                *b = (b.0.min(ms), nfe); // round 0 warms caches and compiles shaders
            }
        }
    }
    let plain = methods.iter().zip(&best).find(|((n, _), _)| *n == "plain").map(|(_, b)| b.0);
    let flops = opened[0].model.flops_per_sample();
    let table: Vec<Value> = methods
        .iter()
        .zip(&best)
        .map(|(&(name, _), &(ms, nfe))| {
            json!({
                "method": name, "nfe": nfe, "nfe_per_step": nfe as f64 / common.steps as f64,
                "ms_per_step": ms, "relative_time": plain.map(|p| ms / p),
                "samples_per_s": common.batch as f64 * 1e3 / (ms * common.steps as f64),
                // model FLOPs only (guidance ops excluded): read it against the machine's peak
                "model_gflop_per_s": flops.map(|f| f * (nfe * common.batch) as f64 / (ms * common.steps as f64 * 1e6)),
            })
        })
        .collect();
    Ok(json!({
        "model": common.model, "backend": common.backend, "precision": opened[0].precision,
        "batch": common.batch, "steps": common.steps, "solver": common.solver, "logp": logp,
        "repeats": repeats, "methods": table,
        "flops_per_evaluation_per_sample": flops,
    }))
}

fn run(cli: Cli) -> Result<Value> {
    match cli.command {
        Command::Sample { common, method, logp: l, png } => sample(&common.open(method.method()?, &l)?, png.as_deref()),
        Command::Logp { common, input, divergence } => logp(&common.open(Method::Plain, &divergence)?, &input),
        Command::Align { common } => align(&common.open(Method::Plain, "hutchinson")?),
        Command::Bench { common, repeats, logp, methods } => bench(&common, repeats, &logp, &methods),
        Command::Train(args) => train(args),
        Command::Classifier(args) => classifier(args),
        Command::Data { data, png, per_class } => data_set(&data, png.as_deref(), per_class),
        Command::Half { input, out } => {
            let device = open(Backend::Cpu, Precision::F32)?;
            let bytes =
                std::fs::read(&input).map_err(|e| Error::Model { path: input.clone(), reason: e.to_string() })?;
            dg::nets::Net::from_bytes(bytes, &input, &device)?.save(&out, true)?;
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            Ok(json!({ "input": input, "out": out, "input_bytes": size(&input), "out_bytes": size(&out) }))
        }
        Command::Eval(args) => crate::eval::run(args),
    }
}

pub fn main() {
    // Ctrl-C ends the process at once with one line (stdout's JSON is written only at the end)
    let _ = ctrlc::set_handler(|| {
        eprintln!("\ndg: interrupted");
        std::process::exit(130);
    });
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("invalid arguments"));
            std::process::exit(2);
        }
    };
    match run(cli) {
        Ok(v) => {
            use std::io::Write;
            // a closed pipe (`dg ... | head`) is the reader's choice, not an error worth a panic
            let _ = writeln!(std::io::stdout().lock(), "{v}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
