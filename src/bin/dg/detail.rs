//! `dg eval --detail` (and `dg eval --model emoji`): the paper's findings per class, on any
//! image model. For the plain ODE and DG at each q: log p of every sample by encoding it back
//! (SPEC 2), its size as a PNG (bits per pixel), its high-frequency energy (mean |Laplacian|)
//! against the held-out images', and its distance to the nearest training image (a model that
//! copies its data is not a generative model). Results go to `OUT/results.json` as
//! each configuration finishes (an interrupted run resumes), the report to `OUT/results.md`.
//! On Fashion-MNIST it also counts how often `dg classifier`'s network names the class each
//! sample was asked for: whether a lane is garments a visitor recognises, not only smooth.
//! `--gaussian` runs the same on the exact Gaussian fitted to the training images (their mean
//! and covariance, sampled in their principal axes): DG on an exact score in the same
//! dimension and spectrum, which tells the method's own effect from a trained model's errors.

use dg::data::{ImageData, ImageSet};
use dg::nets::Conditioning;
use dg::sampling::density::{Divergence, encode};
use dg::sampling::device::{Precision, cpu};
use dg::sampling::gauss::DiagonalGaussian;
use dg::sampling::guidance::{Method, check_q};
use dg::sampling::rng::BatchRng;
use dg::sampling::sampler::{Sampler, Settings, host1, rows};
use dg::sampling::schedule::{Path, Window};
use dg::sampling::score::ScoreModel;
use dg::sampling::solver::Solver;
use dg::training::classifier::Classifier;
use dg::training::eval::{Moments, png_bits_per_pixel, png_grid};
use dg::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde_json::{Value, json};
use std::fmt::Write;
use std::rc::Rc;
use std::time::Instant;

/// The q values DG is run at unless `--qs` names others (the plain ODE is the reference).
pub const QS: [f64; 5] = [0.2, 0.3, 0.5, 0.7, 0.8];

/// Root-mean-square distances (in [-1, 1] units) under which a sample counts as a near-copy of
/// a training image: 0.05 is about 6 of 255 levels on average per value.
pub const NEAR: [f64; 2] = [0.05, 0.1];

pub struct Detail {
    pub model: String,
    pub out: String,
    pub per_class: usize,
    pub steps: usize,
    pub seed: u64,
    pub gaussian: bool,
    /// DG's q values, each in (0, 1).
    pub qs: Vec<f64>,
    /// The λ at which DG's push starts (`None`: the whole path).
    pub dg_start: Option<f64>,
    /// The ODE integrator of generation and encoding.
    pub solver: Solver,
    /// The Fashion-MNIST feature network (`dg eval --classifier`).
    pub classifier: String,
}

/// The data set a model was trained on: a shipped model's name, or the `data` of a weights
/// file's training record (`FILE.json`).
fn data_of(model: &str) -> Result<ImageData> {
    let record = std::fs::read_to_string(format!("{model}.json")).ok();
    let trained_on = record
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|r| r["config"]["data"].as_str().and_then(ImageData::parse));
    ImageData::parse(model).or(trained_on).ok_or_else(|| {
        Error::invalid("model", format!("'{model}' is not an image model (no FILE.json naming its data)"))
    })
}

/// The Gaussian fitted to (at most 20,000 of) the training images, written in their principal
/// axes, and those axes (columns) to carry its samples back to pixels. Variances are floored
/// at 1e-4 (a standard deviation of about 1.3 of 255 levels): the border pixels barely vary.
fn fitted_gaussian(set: &ImageSet, device: &burn::tensor::Device) -> Result<(Rc<dyn ScoreModel>, DMatrix<f64>)> {
    let rows: Vec<Vec<f64>> =
        (0..set.len().min(20_000)).map(|i| set.row(i).iter().map(|&v| f64::from(v)).collect()).collect();
    let moments = Moments::of(&rows)?;
    let d = set.dim();
    let eigen = DMatrix::from_row_slice(d, d, &moments.cov).symmetric_eigen();
    let axes = eigen.eigenvectors;
    let mean = axes.tr_mul(&DVector::from_vec(moments.mean));
    let variance: Vec<f64> = eigen.eigenvalues.iter().map(|v| v.max(1e-4)).collect();
    let model = DiagonalGaussian::new(mean.as_slice(), &variance, Path::Linear, device)?;
    Ok((Rc::new(model), axes))
}

fn write(path: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Input { path: path.into(), reason: e.to_string() })
}

/// For each row, the RMS distance to its nearest image of `set` (skipping index `skip(i)`).
fn nearest(rows: &[Vec<f32>], set: &ImageSet, skip: impl Fn(usize) -> Option<usize> + Sync) -> Vec<f64> {
    use rayon::prelude::*;
    rows.par_iter()
        .enumerate()
        .map(|(i, row)| {
            let best = (0..set.len())
                .filter(|&j| Some(j) != skip(i))
                .map(|j| row.iter().zip(set.row(j)).map(|(a, b)| (a - b) * (a - b)).sum::<f32>())
                .fold(f32::INFINITY, f32::min);
            (f64::from(best) / set.dim() as f64).sqrt()
        })
        .collect()
}

/// Mean |discrete Laplacian| over the interior pixels of every channel: high-frequency energy.
fn laplacian(image: &[f64], channels: usize) -> f64 {
    let side = ((image.len() / channels) as f64).sqrt() as usize;
    let mut sum = 0.0;
    for plane in image.chunks_exact(side * side) {
        for y in 1..side - 1 {
            for x in 1..side - 1 {
                let at = |dy: isize, dx: isize| plane[(y as isize + dy) as usize * side + (x as isize + dx) as usize];
                sum += (4.0 * at(0, 0) - at(-1, 0) - at(1, 0) - at(0, -1) - at(0, 1)).abs();
            }
        }
    }
    sum / (channels * (side - 2) * (side - 2)) as f64
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

pub fn run(a: Detail) -> Result<Value> {
    let data = data_of(&a.model)?;
    if a.per_class == 0 || a.steps == 0 {
        return Err(Error::invalid(if a.steps == 0 { "steps" } else { "samples" }, "must be at least 1"));
    }
    if a.qs.is_empty() || a.qs.iter().any(|&q| check_q(q).is_err()) {
        return Err(Error::invalid("qs", "give one or more q values, each in (0, 1)"));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Input { path: a.out.clone(), reason: e.to_string() })?;
    let device = cpu(Precision::F32)?;
    let set = data.load(false)?;
    // the fitted Gaussian knows no classes: one class of as many samples
    let (model, axes, class_names): (Rc<dyn ScoreModel>, _, &[&str]) = match a.gaussian {
        true => {
            let (model, axes) = fitted_gaussian(&set, &device)?;
            (model, Some(axes), &["all (one Gaussian)"])
        }
        false => (dg::nets::open(&a.model, Path::Linear, &Conditioning::default(), &device)?, None, set.classes),
    };
    let classes = class_names.len();
    let n = a.per_class * classes;
    // the feature network `dg eval` uses, for a class-conditional Fashion-MNIST model
    let classifier = if matches!(data, ImageData::Fashion) && !a.gaussian {
        let path = &a.classifier;
        let bytes = std::fs::read(path).map_err(|e| Error::Model { path: path.clone(), reason: e.to_string() })?;
        Some(Classifier::load(bytes, path, &device)?)
    } else {
        None
    };
    let path = format!("{}/results.json", a.out);
    let mut settings = json!({
        "model": a.model, "per_class": a.per_class, "steps": a.steps, "seed": a.seed, "gaussian": a.gaussian,
    });
    if let Some(start) = a.dg_start {
        settings["dg_start"] = json!(start);
    }
    if a.solver != Solver::Euler {
        settings["solver"] = json!(a.solver);
    }
    let mut results = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .filter(|r| r["settings"] == settings)
        .unwrap_or_else(|| json!({ "settings": settings }));
    if results.get("training").is_none() {
        let t = Instant::now();
        // each of (at most) 2,000 training images against all the others
        let own: Vec<Vec<f32>> = (0..set.len().min(2000)).map(|i| set.row(i).to_vec()).collect();
        let d = nearest(&own, &set, Some);
        eprintln!("training set's own nearest neighbours: {:.0} s", t.elapsed().as_secs_f64());
        let held_out = data.load(true)?;
        let rows: Vec<Vec<f64>> =
            (0..held_out.len().min(2000)).map(|i| held_out.row(i).iter().map(|&v| f64::from(v)).collect()).collect();
        let lap: Vec<f64> = rows.iter().map(|r| laplacian(r, set.channels)).collect();
        results["training"] = json!({ "images": set.len(), "nearest": d, "held_out_laplacian": lap });
        write(&path, serde_json::to_string(&results).expect("json").as_bytes())?;
    }
    let configs: Vec<(String, Method)> = std::iter::once(("plain".to_string(), Method::Plain))
        .chain(a.qs.iter().map(|&q| (format!("dg q={q}"), Method::Dg { q, start: a.dg_start })))
        .collect();
    for (name, method) in &configs {
        if results.get(name).is_some() {
            continue;
        }
        let t = Instant::now();
        // sample i is of class i mod classes; the same latents for every method
        let settings = Settings {
            method: *method,
            solver: a.solver,
            steps: a.steps,
            window: Window::default(),
            seed: a.seed,
            batch: n,
            divergence: Divergence::Off,
            ..Default::default()
        };
        let mut sampler = Sampler::new(model.clone(), settings, &device)?;
        sampler.run();
        let drawn = sampler.finish()?.samples;
        let generate_s = t.elapsed().as_secs_f64();
        let x = rows(&drawn, set.dim(), "samples", &device)?;
        // the Gaussian's samples back from its principal axes to pixels
        let samples = match &axes {
            Some(axes) => drawn.iter().map(|y| (axes * DVector::from_column_slice(y)).as_slice().to_vec()).collect(),
            None => drawn,
        };
        let mut rng = BatchRng::new(a.seed ^ 0x5eed, 0, n);
        let div = Divergence::Hutchinson { probes: 1 };
        let logp = host1(encode(&*model, x, Window::default(), a.steps, a.solver, div, &mut rng)?)?;
        let bpp = samples.iter().map(|s| png_bits_per_pixel(s, set.channels)).collect::<Result<Vec<_>>>()?;
        let as_f32: Vec<Vec<f32>> = samples.iter().map(|s| s.iter().map(|&v| v as f32).collect()).collect();
        let near = nearest(&as_f32, &set, |_| None);
        // one row per class: sample k·classes + c for k < per_class
        let by_class: Vec<Vec<f64>> = (0..classes)
            .flat_map(|c| (0..a.per_class.min(12)).map(move |k| k * classes + c))
            .map(|i| samples[i].clone())
            .collect();
        let file = format!("grid-{}.png", name.replace([' ', '='], "-"));
        write(&format!("{}/{file}", a.out), &png_grid(&by_class, set.channels, a.per_class.min(12))?)?;
        eprintln!(
            "{name}: log p {:.1}, {:.3} bpp, nearest {:.3} (median), {:.0} s",
            mean(&logp),
            mean(&bpp),
            quantile(&near, 0.5),
            t.elapsed().as_secs_f64()
        );
        let lap: Vec<f64> = samples.iter().map(|s| laplacian(s, set.channels)).collect();
        results[name] = json!({
            "logp": logp, "bpp": bpp, "laplacian": lap, "nearest": near, "grid": file, "generate_s": generate_s,
        });
        if let Some(classifier) = &classifier {
            let (_, named) = classifier.classify(&samples, &device)?;
            let asked: Vec<bool> = named.iter().enumerate().map(|(i, &c)| c == i % classes).collect();
            results[name]["asked_class"] = json!(asked);
        }
        write(&path, serde_json::to_string(&results).expect("json").as_bytes())?;
    }
    let report = report(&results, &configs, class_names)?;
    write(&format!("{}/results.md", a.out), report.as_bytes())?;
    Ok(json!({ "out": a.out, "configs": configs.len(), "samples_per_config": n }))
}

/// The per-class means of `values` (sample i is of class i mod `classes`).
fn per_class(values: &[f64], classes: usize) -> Vec<f64> {
    (0..classes).map(|c| mean(&values.iter().skip(c).step_by(classes).copied().collect::<Vec<_>>())).collect()
}

fn report(results: &Value, configs: &[(String, Method)], classes: &[&str]) -> Result<String> {
    let k = classes.len();
    let mut md = String::new();
    let train = floats(&results["training"]["nearest"]);
    let _ =
        writeln!(md, "# The paper's findings on {}, per class\n", results["settings"]["model"].as_str().unwrap_or("?"));
    let _ = writeln!(
        md,
        "Settings: {}. Log p by encoding each sample back (Hutchinson, one probe, the same solver and steps); \
         bits per pixel of each sample as an 8-bit PNG; nearest: the RMS distance (in [-1, 1] units) from \
         each sample to its nearest training image. For reference, {} training images each to its \
         nearest other one: median {:.3}, 5 % quantile {:.3}.\n",
        results["settings"],
        train.len(),
        quantile(&train, 0.5),
        quantile(&train, 0.05)
    );
    let lap99 = quantile(&floats(&results["training"]["held_out_laplacian"]), 0.99);
    let _ = writeln!(
        md,
        "High-frequency energy: mean |Laplacian| of each sample; 'speckled' counts the samples above the \
         99th percentile of {} held-out images ({lap99:.4}). Classes (Fashion-MNIST): how often `dg classifier`'s \
         network (the one `dg eval` measures with) names the class the sample was asked for.\n",
        floats(&results["training"]["held_out_laplacian"]).len()
    );
    let _ = writeln!(
        md,
        "| method | log p | bits per pixel | speckled | classes | nearest, median | nearest, 5 % | share < {} | share < {} |",
        NEAR[0], NEAR[1]
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for (name, _) in configs {
        let row = &results[name];
        let near = floats(&row["nearest"]);
        let share = |t: f64| 100.0 * near.iter().filter(|&&d| d < t).count() as f64 / near.len().max(1) as f64;
        let lap = floats(&row["laplacian"]);
        let speckled = 100.0 * lap.iter().filter(|&&l| l > lap99).count() as f64 / lap.len().max(1) as f64;
        let asked: Vec<bool> =
            row["asked_class"].as_array().map(|a| a.iter().filter_map(Value::as_bool).collect()).unwrap_or_default();
        let named = match asked.len() {
            0 => "—".to_string(),
            n => format!("{:.1} %", 100.0 * asked.iter().filter(|&&b| b).count() as f64 / n as f64),
        };
        let _ = writeln!(
            md,
            "| {name} | {:.1} | {:.3} | {speckled:.1} % | {named} | {:.3} | {:.3} | {:.1} % | {:.1} % |",
            mean(&floats(&row["logp"])),
            mean(&floats(&row["bpp"])),
            quantile(&near, 0.5),
            quantile(&near, 0.05),
            share(NEAR[0]),
            share(NEAR[1])
        );
    }
    let dg: Vec<&(String, Method)> = configs.iter().filter(|(_, m)| matches!(m, Method::Dg { .. })).collect();
    for (measure, label, rising) in [("logp", "log p", true), ("bpp", "bits per pixel", false)] {
        let _ = writeln!(md, "\n## {label} per class, DG at each q\n");
        let header: Vec<String> = dg.iter().map(|(n, _)| n.clone()).collect();
        let _ = writeln!(md, "| class | {} | monotone in q |", header.join(" | "));
        let _ = writeln!(md, "|---|{}---|", "---|".repeat(header.len()));
        let table: Vec<Vec<f64>> = dg.iter().map(|(n, _)| per_class(&floats(&results[n][measure]), k)).collect();
        for (c, class) in classes.iter().enumerate() {
            let column: Vec<f64> = table.iter().map(|t| t[c]).collect();
            let monotone = column.windows(2).all(|w| if rising { w[1] > w[0] } else { w[1] < w[0] });
            let cells: Vec<String> = column.iter().map(|v| format!("{v:.3}")).collect();
            let _ = writeln!(md, "| {class} | {} | {} |", cells.join(" | "), if monotone { "yes" } else { "no" });
        }
    }
    let _ = writeln!(md, "\n## Samples, one row per class\n");
    for (name, _) in configs {
        let _ = writeln!(md, "{name}: ![{name}]({})\n", results[name]["grid"].as_str().unwrap_or(""));
    }
    Ok(md)
}
