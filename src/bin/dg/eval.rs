//! `dg eval`: the paper's findings measured on the Fashion-MNIST model. Each configuration's
//! numbers are saved to `OUT/results.json` as soon as they exist, so an interrupted run
//! resumes where it stopped; the report (`OUT/results.md`, SVG charts, PNG grids) is rewritten
//! from them at the end. `--report-only` rewrites results.md and the charts from a saved
//! results.json without sampling.

use super::plot::{Series, chart};
use clap::Args;
use dg::nets::Conditioning;
use dg::sampling::density::{Divergence, encode};
use dg::sampling::device::{Backend, Precision, open};
use dg::sampling::guidance::{Method, Noise};
use dg::sampling::rng::BatchRng;
use dg::sampling::sampler::{Sampler, Settings, host1, rows};
use dg::sampling::schedule::{Path, Window};
use dg::sampling::solver::Solver;
use dg::training::classifier::Classifier;
use dg::training::eval::{Moments, frechet_distance, png_bits_per_pixel, png_grid};
use dg::{Error, Result};
use serde_json::{Value, json};
use std::fmt::Write;
use std::time::Instant;

#[derive(Args)]
pub struct EvalArgs {
    /// Where results.json, results.md and the figures go.
    #[arg(long, default_value = "docs/eval")]
    out: String,
    /// The image model: `fashion` or a .safetensors file.
    #[arg(long, default_value = "fashion")]
    model: String,
    /// The feature network (written by `dg classifier`); `--detail` uses it on Fashion-MNIST models.
    #[arg(long, default_value = "models/classifier.safetensors")]
    classifier: String,
    /// Samples per configuration for the Fréchet distance, PNG size and class agreement.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Of those, how many are encoded for their log-density.
    #[arg(long, default_value_t = 100)]
    logp_samples: usize,
    /// Samples per CFG scale and method (all encoded).
    #[arg(long, default_value_t = 200)]
    cfg_samples: usize,
    /// Steps of generation and of encoding.
    #[arg(long, default_value_t = 24)]
    steps: usize,
    /// The ODE integrator of generation and of encoding: euler, heun or rk4 (SDG always steps
    /// with Euler–Maruyama). Heun's error falls as the square of the step, so it shows how
    /// much of a distance is the model's and how much the integration's.
    #[arg(long, default_value = "euler")]
    solver: String,
    /// A multiple of 10: classes are cycled over the batch, so every batch is balanced.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu or wgpu.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Only rewrite results.md and the SVG charts from OUT/results.json: no model, no sampling
    /// (the Fashion-MNIST report).
    #[arg(long)]
    report_only: bool,
    /// The per-class evaluation (log p, PNG size and high-frequency energy at each q, and the
    /// distance to the nearest training image; src/bin/dg/detail.rs) instead of the
    /// classifier's: what `--model emoji`, which has no feature network, always runs.
    #[arg(long)]
    detail: bool,
    /// With --detail: the exact Gaussian fitted to the training images instead of the model
    /// (DG on an exact score of the same dimension and spectrum).
    #[arg(long, requires = "detail")]
    gaussian: bool,
    /// Samples per class in the per-class evaluation.
    #[arg(long, default_value_t = 20)]
    per_class: usize,
    /// DG's q values in the per-class evaluation, comma-separated (default 0.2,0.3,0.5,0.7,0.8).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    qs: Option<Vec<f64>>,
    /// The λ at which every DG run's push starts (SPEC 5; absent: the whole path, the paper's
    /// form). -2 keeps Fashion-MNIST's low-q samples free of speckle (docs/findings.md).
    #[arg(long, allow_negative_numbers = true)]
    dg_start: Option<f64>,
}

/// `method` with DG's push starting at `start`; other methods as they are.
fn started(method: Method, start: Option<f64>) -> Method {
    match method {
        Method::Dg { q, .. } => Method::Dg { q, start },
        other => other,
    }
}

const QS: [f64; 5] = [0.3, 0.4, 0.5, 0.6, 0.7];
const PG_WIDE: [f64; 2] = [0.05, 0.95];
const DG_NARROW: [f64; 2] = [0.45, 0.55];

fn configs() -> Vec<(String, Method)> {
    let mut out = vec![("plain".to_string(), Method::Plain)];
    out.extend(QS.iter().map(|&q| (format!("pg q={q}"), Method::Prior { q })));
    out.extend(QS.iter().map(|&q| (format!("dg q={q}"), Method::Dg { q, start: None })));
    // PG barely moves log p over QS: its extremes and DG near 0.5 make the two ranges overlap,
    // so quality can be compared at matching log p
    out.extend(PG_WIDE.iter().map(|&q| (format!("pg q={q}"), Method::Prior { q })));
    out.extend(DG_NARROW.iter().map(|&q| (format!("dg q={q}"), Method::Dg { q, start: None })));
    out.push(("sdg early q=0.5".into(), Method::Sdg { q: 0.5, noise: Noise::EARLY, exact: false }));
    out.push(("sdg late q=0.5".into(), Method::Sdg { q: 0.5, noise: Noise::LATE, exact: false }));
    out
}

/// CFG scales and the methods run at each.
const CFG_SCALES: [f64; 4] = [0.0, 1.0, 2.0, 3.0];
const CFG_METHODS: [(&str, Method); 3] = [
    ("plain", Method::Plain),
    ("dg q=0.3", Method::Dg { q: 0.3, start: None }),
    ("dg q=0.7", Method::Dg { q: 0.7, start: None }),
];

struct Ctx {
    args: EvalArgs,
    device: burn::tensor::Device,
    classifier: Classifier,
    reference: Moments,
    results: Value,
    solver: Solver,
}

impl Ctx {
    fn model(&self, cfg: f64) -> Result<std::rc::Rc<dyn dg::sampling::score::ScoreModel>> {
        dg::nets::open(&self.args.model, Path::Linear, &Conditioning { cfg, ..Default::default() }, &self.device)
    }

    fn settings(&self, method: Method, k: usize, divergence: Divergence) -> Settings {
        Settings {
            method,
            // SDG steps with Euler–Maruyama whatever the ODE's solver
            solver: if matches!(method, Method::Sdg { .. }) { Solver::Euler } else { self.solver },
            steps: self.args.steps,
            window: Window::default(),
            seed: self.args.seed + k as u64,
            batch: self.args.batch,
            divergence,
            ..Default::default()
        }
    }

    /// `n` samples of a method (same latents for every method: batch k has seed `seed + k`);
    /// sample i is of class i mod 10.
    fn generate(&self, method: Method, cfg: f64, n: usize) -> Result<Vec<Vec<f64>>> {
        let model = self.model(cfg)?;
        let mut out = Vec::with_capacity(n);
        for k in 0..n.div_ceil(self.args.batch) {
            let mut s = Sampler::new(model.clone(), self.settings(method, k, Divergence::Off), &self.device)?;
            s.run();
            out.extend(s.finish()?.samples);
        }
        out.truncate(n);
        Ok(out)
    }

    /// log p under the conditional model (CFG scale 1) by encoding (SPEC 2), Hutchinson.
    fn encode(&self, samples: &[Vec<f64>]) -> Result<Vec<f64>> {
        let model = self.model(1.0)?;
        let mut out = Vec::new();
        for (k, chunk) in samples.chunks(self.args.batch).enumerate() {
            let x = rows(chunk, 784, "samples", &self.device)?;
            let div = Divergence::Hutchinson { probes: 1 };
            let mut rng = BatchRng::new(self.args.seed ^ 0x5eed, k * self.args.batch, chunk.len());
            out.extend(host1(encode(&*model, x, Window::default(), self.args.steps, self.solver, div, &mut rng)?)?);
        }
        Ok(out)
    }

    /// Everything measured about one set of samples.
    fn measure(&self, name: &str, method: Method, cfg: f64, n: usize, encoded: usize, tag: &str) -> Result<Value> {
        let t = Instant::now();
        let samples = self.generate(method, cfg, n)?;
        let gen_s = t.elapsed().as_secs_f64();
        let (features, classes) = self.classifier.classify(&samples, &self.device)?;
        let fd = if n >= 2 { Some(frechet_distance(&Moments::of(&features)?, &self.reference)) } else { None };
        let agree = classes.iter().enumerate().filter(|(i, c)| i % 10 == **c).count() as f64 / n as f64;
        let bpp = samples.iter().map(|s| png_bits_per_pixel(s, 1)).collect::<Result<Vec<_>>>()?;
        let t2 = Instant::now();
        let logp = self.encode(&samples[..encoded.min(n)])?;
        let grid = png_grid(&samples[..n.min(100)], 1, 10)?;
        let file = format!("grid-{}.png", slug(tag));
        write(&format!("{}/{file}", self.args.out), &grid)?;
        let (m, se) = mean_se(&logp);
        eprintln!(
            "{name} (cfg {cfg}): FD {:.2}, log p {m:.1} ± {se:.1}, {:.3} bpp, classes {:.1} %, {gen_s:.0} s + {:.0} s",
            fd.unwrap_or(f64::NAN),
            mean_se(&bpp).0,
            100.0 * agree,
            t2.elapsed().as_secs_f64()
        );
        Ok(json!({
            "name": name, "method": method, "cfg": cfg, "n": n, "frechet": fd, "class_agreement": agree,
            "bpp": bpp, "logp": logp, "grid": file, "generate_s": gen_s, "encode_s": t2.elapsed().as_secs_f64(),
        }))
    }

    fn save(&self) -> Result<()> {
        let text = serde_json::to_string(&self.results).expect("json");
        write(&format!("{}/results.json", self.args.out), text.as_bytes())
    }

    /// Runs `f` unless `key` already holds a result from an earlier, interrupted run.
    fn once(&mut self, key: &str, f: impl FnOnce(&Self) -> Result<Value>) -> Result<()> {
        if self.results.get(key).is_none() {
            let v = f(self)?;
            self.results[key] = v;
            self.save()?;
        }
        Ok(())
    }
}

fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect()
}

fn write(path: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Input { path: path.into(), reason: e.to_string() })
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// A number of the results, NaN where missing.
fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The table cells of one measured set: FD (`fd_digits` decimals), log p ± s.e., bits per
/// pixel, class agreement.
fn cells(row: &Value, fd_digits: usize) -> String {
    let (lp, se) = mean_se(&floats(&row["logp"]));
    format!(
        "{:.*} | {lp:.1} ± {se:.1} | {:.3} | {:.1} %",
        fd_digits,
        num(&row["frechet"]),
        mean_se(&floats(&row["bpp"])).0,
        100.0 * num(&row["class_agreement"])
    )
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (mean_se(a).0, mean_se(b).0);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (a.iter().map(|x| (x - ma).powi(2)).sum(), b.iter().map(|y| (y - mb).powi(2)).sum());
    cov / (va * vb).sqrt()
}

pub fn run(args: EvalArgs) -> Result<Value> {
    if args.report_only && (args.detail || args.model == "emoji") {
        return Err(Error::invalid("report-only", "redraws the Fashion-MNIST report only, not --detail's"));
    }
    if args.detail || args.model == "emoji" {
        let (model, out, per_class, steps, seed) = (args.model, args.out, args.per_class, args.steps, args.seed);
        let (gaussian, solver) = (args.gaussian, Solver::parse(&args.solver)?);
        let (qs, dg_start) = (args.qs.unwrap_or_else(|| super::detail::QS.to_vec()), args.dg_start);
        return super::detail::run(super::detail::Detail {
            model,
            out,
            per_class,
            steps,
            seed,
            gaussian,
            qs,
            dg_start,
            solver,
            classifier: args.classifier,
        });
    }
    if args.report_only {
        let path = format!("{}/results.json", args.out);
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::Input { path: path.clone(), reason: e.to_string() })?;
        let results: Value =
            serde_json::from_str(&text).map_err(|e| Error::Input { path: path.clone(), reason: e.to_string() })?;
        report(&results, &args.out)?;
        return Ok(summary(&results));
    }
    if args.batch == 0 || !args.batch.is_multiple_of(10) {
        return Err(Error::invalid("batch", "must be a positive multiple of 10 (classes are cycled)"));
    }
    if args.samples < 2 || args.cfg_samples < 2 || args.steps == 0 {
        return Err(Error::invalid(if args.steps == 0 { "steps" } else { "samples" }, "too small"));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| Error::Input { path: args.out.clone(), reason: e.to_string() })?;
    let solver = Solver::parse(&args.solver)?;
    let device = open(Backend::parse(&args.backend)?, Precision::F32)?;
    let bytes = std::fs::read(&args.classifier)
        .map_err(|e| Error::Model { path: args.classifier.clone(), reason: e.to_string() })?;
    let classifier = Classifier::load(bytes, &args.classifier, &device)?;
    let test = dg::data::ImageData::Fashion.load(true)?;
    let (test_rows, labels) = dg::training::classifier::rows_of(&test, 0..test.len());
    let (features, pred) = classifier.classify(&test_rows, &device)?;
    let accuracy = dg::training::classifier::agreement(&pred, &labels);
    let reference = Moments::of(&features)?;
    let mut settings = json!({
        "model": args.model, "samples": args.samples, "logp_samples": args.logp_samples, "cfg_samples": args.cfg_samples, "steps": args.steps,
        "batch": args.batch, "seed": args.seed, "backend": args.backend, "solver": args.solver,
    });
    if let Some(start) = args.dg_start {
        settings["dg_start"] = json!(start);
    }
    let path = format!("{}/results.json", args.out);
    let mut results = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .filter(|r| r["settings"] == settings)
        .unwrap_or_else(|| json!({ "settings": settings }));
    let bpp_test = test_rows.iter().take(2000).map(|r| png_bits_per_pixel(r, 1)).collect::<Result<Vec<_>>>()?;
    results["classifier"] = json!({ "test_accuracy": accuracy, "test_images": labels.len() });
    results["test_set"] = json!({ "bpp_mean": mean_se(&bpp_test).0 });
    eprintln!("classifier: {:.2} % on {} test images", 100.0 * accuracy, labels.len());
    let mut ctx = Ctx { args, device, classifier, reference, results, solver };
    // a second half of the test set against the first: the floor of the Fréchet distance
    ctx.once("test_split", |_| {
        let (fa, fb) = features.split_at(features.len() / 2);
        Ok(json!({ "frechet_half_vs_half": frechet_distance(&Moments::of(fa)?, &Moments::of(fb)?) }))
    })?;
    // as many training images as a row has samples, against the test set: what a model that
    // drew real images would score at this sample count (the estimate's finite-sample floor)
    ctx.once("train_floor", |c| {
        let train = dg::data::ImageData::Fashion.load(false)?;
        let n = c.args.samples.min(train.len());
        let (rows, _) = dg::training::classifier::rows_of(&train, 0..n);
        let (features, _) = c.classifier.classify(&rows, &c.device)?;
        Ok(json!({ "images": n, "frechet": frechet_distance(&Moments::of(&features)?, &c.reference) }))
    })?;
    let start = ctx.args.dg_start;
    for (name, method) in configs() {
        let (method, n, enc) = (started(method, start), ctx.args.samples, ctx.args.logp_samples);
        ctx.once(&format!("config {name}"), |c| c.measure(&name, method, 1.0, n, enc, &name))?;
    }
    for w in CFG_SCALES {
        for (name, method) in CFG_METHODS {
            let method = started(method, start);
            let (n, key) = (ctx.args.cfg_samples, format!("cfg {w} {name}"));
            ctx.once(&key, |c| c.measure(name, method, w, n, n, &key))?;
        }
    }
    ctx.once("trajectories", trajectories)?;
    ctx.once("alignment", alignment)?;
    report(&ctx.results, &ctx.args.out)?;
    Ok(summary(&ctx.results))
}

/// Mean tracked log p along λ (Hutchinson) for plain, DG and SDG on one batch.
fn trajectories(c: &Ctx) -> Result<Value> {
    let model = c.model(1.0)?;
    let runs = [
        ("plain", Method::Plain),
        ("dg q=0.3", Method::Dg { q: 0.3, start: None }),
        ("dg q=0.7", Method::Dg { q: 0.7, start: None }),
        ("sdg late q=0.5", Method::Sdg { q: 0.5, noise: Noise::LATE, exact: false }),
        ("sdg early q=0.5", Method::Sdg { q: 0.5, noise: Noise::EARLY, exact: false }),
    ];
    let mut out = serde_json::Map::new();
    for (name, method) in runs {
        let mut settings = c.settings(started(method, c.args.dg_start), 0, Divergence::Hutchinson { probes: 1 });
        settings.batch = 20;
        let mut s = Sampler::new(model.clone(), settings, &c.device)?;
        let mut points = vec![json!([s.lambda(), mean_se(&host1(s.state().logp.clone())?).0])];
        while s.step() {
            points.push(json!([s.lambda(), mean_se(&host1(s.state().logp.clone())?).0]));
        }
        out.insert(name.into(), Value::Array(points));
    }
    Ok(Value::Object(out))
}

/// Score alignment (SPEC 4) of latents, both ways, and how often the two agree.
fn alignment(c: &Ctx) -> Result<Value> {
    let model = c.model(1.0)?;
    let n = 40;
    let mut rng = BatchRng::new(c.args.seed, 0, n);
    let latent = rng.normal_tensor(784, &c.device).mul_scalar(Path::Linear.sigma(-10.0));
    let div = Divergence::Hutchinson { probes: 1 };
    let a = dg::sampling::alignment::score_alignment(
        &*model,
        latent,
        Window::default(),
        c.args.steps,
        c.solver,
        div,
        &mut rng,
    )?;
    let (with, without) = (host1(a.with_score)?, host1(a.without_score)?);
    let frac = |v: &[f64]| v.iter().filter(|x| **x > 0.0).count() as f64 / v.len() as f64;
    let agree = with.iter().zip(&without).filter(|(a, b)| (**a > 0.0) == (**b > 0.0)).count() as f64 / n as f64;
    Ok(
        json!({ "latents": n, "holds_with_score": frac(&with), "holds_without_score": frac(&without), "agreement": agree }),
    )
}

/// The headline numbers, printed as JSON by the command.
fn summary(r: &Value) -> Value {
    let rows: Vec<Value> = configs()
        .iter()
        .map(|(name, _)| {
            let c = &r[format!("config {name}")];
            json!({ "name": name, "frechet": c["frechet"], "logp_mean": mean_se(&floats(&c["logp"])).0,
                    "bpp_mean": mean_se(&floats(&c["bpp"])).0, "class_agreement": c["class_agreement"] })
        })
        .collect();
    json!({ "classifier": r["classifier"], "configs": rows, "alignment": r["alignment"] })
}

/// One chart, written to `OUT/file`.
fn svg(out: &str, file: &str, title: &str, xlabel: &str, ylabel: &str, series: &[Series]) -> Result<()> {
    let path = format!("{out}/{file}");
    let text = chart(title, xlabel, ylabel, series).map_err(|reason| Error::Input { path: path.clone(), reason })?;
    write(&path, text.as_bytes())
}

/// results.md and the SVG charts, from the results (a run's, or a saved results.json).
fn report(r: &Value, out: &str) -> Result<()> {
    let cfg_row = |name: &str| &r[format!("config {name}")];
    let mut md = String::new();
    let s = &r["settings"];
    let solver = s["solver"].as_str().unwrap_or("euler");
    let solver_flag = if solver == "euler" { String::new() } else { format!(" --solver {solver}") };
    let solver_name = match solver {
        "heun" => "Heun (SDG: Euler–Maruyama)",
        "rk4" => "RK4 (SDG: Euler–Maruyama)",
        _ => "Euler",
    };
    let _ = writeln!(
        md,
        "# Density guidance on Fashion-MNIST, measured\n\nWritten by `dg eval --out {out} --samples {} --logp-samples {} --cfg-samples {} --steps {}{} --batch {} --seed {}{}` \
         (model `{}`, {}, λ from -10 to 10, f32 on the {} backend{}). Samples are class-conditional with the ten classes \
         in turn (sample i is of class i mod 10) and the same latents for every method.\n",
        s["samples"],
        s["logp_samples"],
        s["cfg_samples"],
        s["steps"],
        solver_flag,
        s["batch"],
        s["seed"],
        s["dg_start"].as_f64().map(|v| format!(" --dg-start {v}")).unwrap_or_default(),
        s["model"].as_str().unwrap_or(""),
        solver_name,
        s["backend"].as_str().unwrap_or(""),
        s["dg_start"].as_f64().map(|v| format!("; DG's push acts from λ = {v} on, plain before")).unwrap_or_default()
    );
    // older reports lack the floor at their sample count
    let floor = match (r["train_floor"]["images"].as_u64(), r["train_floor"]["frechet"].as_f64()) {
        (Some(n), Some(fd)) => {
            format!(", and {n} training images against the test set {fd:.2}, the floor at this report's sample count")
        }
        _ => String::new(),
    };
    let _ = writeln!(
        md,
        "Feature network: `dg classifier` (3 convolutions, 128-d features), **{:.2} %** test accuracy on {} test images. \
         Fréchet distance (FD) of its features between the samples and all 10,000 test images; \
         one half of the test set against the other gives {:.2}, the floor for 5,000 images{}. \
         log p: nats (784 dimensions, pixels in [-1, 1]) by encoding (SPEC 2, Hutchinson, {} steps), mean ± standard error. \
         PNG: 8-bit grey, best compression; the test images average {:.3} bits per pixel. \
         Classes: how often the classifier names the class the sample was conditioned on.\n",
        100.0 * num(&r["classifier"]["test_accuracy"]),
        r["classifier"]["test_images"],
        num(&r["test_split"]["frechet_half_vs_half"]),
        floor,
        s["steps"],
        num(&r["test_set"]["bpp_mean"])
    );
    md.push_str(
        "| method | FD ↓ | log p (encoded) | PNG bits/pixel | classes | samples |\n|---|---|---|---|---|---|\n",
    );
    for (name, _) in configs() {
        let row = cfg_row(&name);
        let _ = writeln!(md, "| {name} | {} | {} |", cells(row, 2), row["n"]);
    }
    // log p against q
    let by_q = |prefix: &str| -> Series {
        let pts: Vec<(f64, (f64, f64))> =
            QS.iter().map(|&q| (q, mean_se(&floats(&cfg_row(&format!("{prefix} q={q}"))["logp"])))).collect();
        Series::line(&prefix.to_uppercase(), pts.iter().map(|(q, (m, _))| (*q, *m)).collect())
            .with_errors(pts.iter().map(|(_, (_, e))| *e).collect())
    };
    let plain = mean_se(&floats(&cfg_row("plain")["logp"])).0;
    let flat = Series::line("plain ODE", vec![(QS[0], plain), (QS[4], plain)]);
    svg(out, "logp-vs-q.svg", "log p of samples against q", "q", "mean log p (nats)", &[by_q("dg"), by_q("pg"), flat])?;
    // log p against PNG size, per sample
    let (mut all_lp, mut all_bpp, mut series) = (Vec::new(), Vec::new(), Vec::new());
    for (name, _) in configs() {
        let row = cfg_row(&name);
        let (lp, bpp) = (floats(&row["logp"]), floats(&row["bpp"]));
        let pts: Vec<(f64, f64)> = lp.iter().zip(&bpp).map(|(l, b)| (*b, *l)).collect();
        all_lp.extend(pts.iter().map(|p| p.1));
        all_bpp.extend(pts.iter().map(|p| p.0));
        if name == "plain" || name.ends_with("0.3") || name.ends_with("0.7") {
            series.push(Series::dots(&name, pts));
        }
    }
    let corr = pearson(&all_lp, &all_bpp);
    svg(
        out,
        "logp-vs-png.svg",
        &format!("log p against PNG size (Pearson r = {corr:.2}, all methods)"),
        "PNG bits per pixel",
        "log p (nats)",
        &series,
    )?;
    // quality against log p: DG within PG's range at matching log p?
    let fd_series = |prefix: &str| {
        let mut qs: Vec<f64> =
            QS.iter().chain(if prefix == "pg" { &PG_WIDE[..] } else { &DG_NARROW[..] }).copied().collect();
        qs.sort_by(f64::total_cmp);
        let pts = qs
            .iter()
            .map(|&q| {
                let row = cfg_row(&format!("{prefix} q={q}"));
                (mean_se(&floats(&row["logp"])).0, num(&row["frechet"]))
            })
            .collect();
        Series::line(&prefix.to_uppercase(), pts)
    };
    let mut fd_plot = vec![fd_series("dg"), fd_series("pg")];
    for name in ["plain", "sdg early q=0.5", "sdg late q=0.5"] {
        let row = cfg_row(name);
        fd_plot.push(Series::dots(name, vec![(mean_se(&floats(&row["logp"])).0, num(&row["frechet"]))]));
    }
    svg(out, "frechet-vs-logp.svg", "sample quality against log p", "mean log p (nats)", "Fréchet distance", &fd_plot)?;
    // trajectories along λ
    let traj: Vec<Series> = r["trajectories"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let pts = v.as_array().into_iter().flatten().map(|p| (num(&p[0]), num(&p[1]))).collect();
                    Series::line(k, pts)
                })
                .collect()
        })
        .unwrap_or_default();
    svg(
        out,
        "logp-along-lambda.svg",
        "tracked log p along λ (mean of 20, Hutchinson)",
        "λ (log SNR)",
        "log p (nats)",
        &traj,
    )?;
    // per class
    md.push_str("\n## log p against q, per class (DG, encoded)\n\n| class |");
    for q in QS {
        let _ = write!(md, " q = {q} |");
    }
    md.push_str("\n|---|---|---|---|---|---|\n");
    let mut class_series = Vec::new();
    for (k, class) in dg::data::fashion::CLASSES.iter().enumerate() {
        let _ = write!(md, "| {class} |");
        let mut pts = Vec::new();
        for q in QS {
            let lp = floats(&cfg_row(&format!("dg q={q}"))["logp"]);
            let mine: Vec<f64> = lp.iter().enumerate().filter(|(i, _)| i % 10 == k).map(|(_, v)| *v).collect();
            let (m, se) = mean_se(&mine);
            let _ = write!(md, " {m:.0} ± {se:.0} |");
            pts.push((q, m));
        }
        md.push('\n');
        class_series.push(Series::line(class, pts));
    }
    svg(
        out,
        "logp-vs-q-per-class.svg",
        "DG: log p against q, per garment class",
        "q",
        "mean log p (nats)",
        &class_series,
    )?;
    // CFG
    md.push_str(
        "\n## Classifier-free guidance and log p\n\nlog p is that of the conditional model (scale 1), by encoding; \
         scale 0 is the unconditional model (null label). Fewer samples per row here, and the Fréchet distance grows \
         as the sample count falls, so compare FD within this table only.\n\n| CFG scale | method | FD | log p | PNG bits/pixel | classes |\n|---|---|---|---|---|---|\n",
    );
    for w in CFG_SCALES {
        for (name, _) in CFG_METHODS {
            let _ = writeln!(md, "| {w} | {name} | {} |", cells(&r[format!("cfg {w} {name}")], 1));
        }
    }
    let a = &r["alignment"];
    let _ = writeln!(
        md,
        "\n## Score alignment (SPEC 4)\n\nOf {} random latents, SA holds for {:.0} % checked with the score at the end \
         (sᵀu > 0) and for {:.0} % checked without it (ω > 0); the two ways agree on {:.0} %. Where SA holds, \
         Prior Guidance provably moves log p the way q asks.\n",
        a["latents"],
        100.0 * num(&a["holds_with_score"]),
        100.0 * num(&a["holds_without_score"]),
        100.0 * num(&a["agreement"])
    );
    let _ = writeln!(
        md,
        "## Figures\n\nPearson correlation of log p and PNG size over all encoded samples: **r = {corr:.2}**.\n\n\
         ![log p against q](logp-vs-q.svg)\n![log p against PNG size](logp-vs-png.svg)\n\
         ![Fréchet distance against log p](frechet-vs-logp.svg)\n![log p along λ](logp-along-lambda.svg)\n\
         ![per class](logp-vs-q-per-class.svg)\n\n## Samples (first 100 of each; column = class)\n"
    );
    for (name, _) in configs() {
        let _ = writeln!(md, "**{name}**\n\n![{name}]({})\n", cfg_row(&name)["grid"].as_str().unwrap_or(""));
    }
    write(&format!("{out}/results.md"), md.as_bytes())
}
