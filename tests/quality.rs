//! Measuring samples (what `dg eval` reports): the Fréchet distance against closed forms, PNG
//! sizes, the shipped classifier on the committed Fashion-MNIST fixture, and the shipped
//! flow model's conditional samples as that classifier sees them.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

use dg::data::fashion::read_idx;
use dg::nets::Conditioning;
use dg::sampling::device::{Precision, cpu};
use dg::sampling::guidance::Method;
use dg::sampling::rng::HostRng;
use dg::sampling::sampler::{Sampler, Settings};
use dg::sampling::schedule::Path;
use dg::training::classifier::Classifier;
use dg::training::eval::{Moments, frechet_distance, png_bits_per_pixel, png_grid};
use std::rc::Rc;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fashion-t10k-300");

fn fixture() -> dg::data::ImageSet {
    read_idx(&format!("{FIXTURE}-images-idx3-ubyte.gz"), &format!("{FIXTURE}-labels-idx1-ubyte.gz")).unwrap()
}

fn classifier() -> Classifier {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/classifier.safetensors");
    Classifier::load(std::fs::read(path).unwrap(), path, &cpu(Precision::F32).unwrap()).unwrap()
}

/// A random rotation of R^d (Gram–Schmidt on normal vectors), row-major.
fn rotation(d: usize, rng: &mut HostRng) -> Vec<f64> {
    let mut q: Vec<Vec<f64>> = Vec::new();
    while q.len() < d {
        let mut v = rng.normals(d);
        for u in &q {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        q.push(v.into_iter().map(|a| a / n).collect());
    }
    q.concat()
}

/// `Q diag(e) Qᵀ`.
fn with_eigenvalues(q: &[f64], e: &[f64]) -> Vec<f64> {
    let d = e.len();
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            c[i * d + j] = (0..d).map(|k| q[i * d + k] * e[k] * q[j * d + k]).sum();
        }
    }
    c
}

#[test]
fn frechet_distance_matches_closed_forms() {
    let mut rng = HostRng::new(7);
    // covariances sharing eigenvectors: FD = |Δμ|² + Σ(√a - √b)²
    let d = 24;
    let q = rotation(d, &mut rng);
    let (ea, eb): (Vec<f64>, Vec<f64>) = (0..d).map(|_| (0.1 + rng.uniform() * 3.0, 0.1 + rng.uniform() * 3.0)).unzip();
    let (ma, mb) = (rng.normals(d), rng.normals(d));
    let a = Moments { mean: ma.clone(), cov: with_eigenvalues(&q, &ea) };
    let b = Moments { mean: mb.clone(), cov: with_eigenvalues(&q, &eb) };
    let exact: f64 = ma.iter().zip(&mb).map(|(x, y)| (x - y).powi(2)).sum::<f64>()
        + ea.iter().zip(&eb).map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2)).sum::<f64>();
    let fd = frechet_distance(&a, &b);
    assert!((fd - exact).abs() < 1e-9 * exact, "commuting case: {fd} vs {exact}");
    assert!(frechet_distance(&a, &a).abs() < 1e-9, "a distribution is at distance 0 from itself");
    // 2×2 in general position: tr √(C₁^½C₂C₁^½) = √(tr C₁C₂ + 2√(det C₁ det C₂))
    let (c1, c2) = (vec![2.0, 0.7, 0.7, 1.0], vec![0.5, -0.3, -0.3, 1.5]);
    let tr12 = c1[0] * c2[0] + c1[1] * c2[2] + c1[2] * c2[1] + c1[3] * c2[3];
    let det = |c: &[f64]| c[0] * c[3] - c[1] * c[2];
    let exact = 3.0 + 2.0 - 2.0 * (tr12 + 2.0 * (det(&c1) * det(&c2)).sqrt()).sqrt();
    let fd = frechet_distance(&Moments { mean: vec![0.0; 2], cov: c1 }, &Moments { mean: vec![0.0; 2], cov: c2 });
    assert!((fd - exact).abs() < 1e-12, "2×2 case: {fd} vs {exact}");
}

#[test]
fn moments_of_samples_converge_to_the_distribution() {
    // two sample sets of the same 8-d Gaussian: FD shrinks like d²/n (here E ≈ 0.02)
    let mut rng = HostRng::new(3);
    let q = rotation(8, &mut rng);
    let draw = |rng: &mut HostRng| -> Vec<Vec<f64>> {
        (0..4000)
            .map(|_| {
                let z = rng.normals(8);
                (0..8).map(|i| 1.0 + (0..8).map(|k| q[i * 8 + k] * z[k] * (k + 1) as f64 * 0.3).sum::<f64>()).collect()
            })
            .collect()
    };
    let (a, b) = (Moments::of(&draw(&mut rng)).unwrap(), Moments::of(&draw(&mut rng)).unwrap());
    let fd = frechet_distance(&a, &b);
    assert!(fd > 0.0 && fd < 0.1, "same distribution: FD {fd}");
    let shifted = Moments { mean: b.mean.iter().map(|m| m + 0.5).collect(), cov: b.cov.clone() };
    let fd2 = frechet_distance(&a, &shifted);
    assert!((fd2 - fd - 8.0 * 0.25).abs() < 0.15, "a 0.5 shift in 8 coordinates adds 2: {fd} -> {fd2}");
    assert!(Moments::of(&[vec![1.0]]).is_err(), "one row has no covariance");
}

#[test]
fn png_size_grows_with_detail() {
    let flat = vec![-1.0; 784];
    let ramp: Vec<f64> = (0..784).map(|i| (i % 28) as f64 / 13.5 - 1.0).collect();
    let mut rng = HostRng::new(1);
    let noise: Vec<f64> = (0..784).map(|_| rng.uniform() * 2.0 - 1.0).collect();
    let (f, r, n) = (
        png_bits_per_pixel(&flat, 1).unwrap(),
        png_bits_per_pixel(&ramp, 1).unwrap(),
        png_bits_per_pixel(&noise, 1).unwrap(),
    );
    // a PNG's fixed overhead is ~60 bytes (0.6 bpp at 28×28); noise cannot be compressed
    assert!(f < 1.0 && f < r && r < n && n > 7.5, "flat {f}, ramp {r}, noise {n} bits per pixel");
    assert!(png_bits_per_pixel(&[0.0; 10], 1).is_err(), "not a square image");
    assert!(png_bits_per_pixel(&[0.0; 15], 3).is_err(), "not three square planes");
    assert!(png_bits_per_pixel(&[0.0; 12], 3).is_ok(), "three planes of 2×2");
}

/// The feature network `dg eval` relies on recognises held-out garments.
#[test]
fn shipped_classifier_recognises_test_garments() {
    let device = cpu(Precision::F32).unwrap();
    let acc = dg::training::classifier::accuracy(&classifier(), &fixture(), &device).unwrap();
    eprintln!("classifier accuracy on the 300-image fixture: {acc:.3}");
    // 300 test images; the full test set gives about 0.9 (models/README.md)
    assert!(acc > 0.85, "test accuracy on the fixture {acc}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/classifier.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let Err(err) = Classifier::load(bytes[..bytes.len() / 2].to_vec(), "half.safetensors", &device) else {
        panic!("a truncated file must not load")
    };
    assert!(err.to_string().contains("half.safetensors"), "{err}");
}

/// Conditional DG samples of the shipped model are the garments they were asked for.
#[test]
fn fashion_samples_are_the_garments_asked_for() {
    let device = cpu(Precision::F32).unwrap();
    let model = dg::nets::open("fashion", Path::Linear, &Conditioning::default(), &device).unwrap();
    let settings =
        Settings { method: Method::Dg { q: 0.5, start: None }, steps: 24, batch: 40, seed: 11, ..Default::default() };
    let mut s = Sampler::new(Rc::clone(&model), settings, &device).unwrap();
    s.run();
    let samples = s.finish().unwrap().samples;
    let (_, classes) = classifier().classify(&samples, &device).unwrap();
    let agree = classes.iter().enumerate().filter(|(i, c)| i % 10 == **c).count() as f64 / 40.0;
    eprintln!("{:.0} % of 40 DG samples are classified as the class asked for", 100.0 * agree);
    assert!(agree >= AGREEMENT, "{:.0} % of samples are classified as their class", 100.0 * agree);
}

/// The bound of the test above, below what `dg eval` measures on 2,000 samples (docs/eval).
const AGREEMENT: f64 = 0.6;

/// The page loads Fashion-MNIST's weights in half precision: they must stay the f32 file's
/// (`dg half`). Nearly every pixel of the same run lands within one 8-bit grey level (2/255 ≈
/// 0.008 in [-1, 1]); along 12 steps the f16 rounding grows on a few pixels of a few samples
/// (measured on the shipped model: 0.13 % of pixels beyond one level, max 0.040, on one sample
/// of 20), never to a different picture.
#[test]
fn half_precision_weights_sample_like_the_f32_ones() {
    let device = cpu(Precision::F32).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    let run = |file: &str| {
        let model = dg::nets::open(&format!("{dir}/{file}"), Path::Linear, &Conditioning::default(), &device).unwrap();
        let settings = Settings {
            method: Method::Dg { q: 0.5, start: None },
            steps: 12,
            batch: 20,
            seed: 5,
            ..Default::default()
        };
        let mut s = Sampler::new(model, settings, &device).unwrap();
        s.run();
        s.finish().unwrap().samples.concat()
    };
    let (full, half) = (run("fashion.safetensors"), run("fashion-f16.safetensors"));
    let diff: Vec<f64> = full.iter().zip(&half).map(|(a, b)| (a - b).abs()).collect();
    let max = diff.iter().copied().fold(0.0, f64::max);
    let mean = diff.iter().sum::<f64>() / diff.len() as f64;
    let beyond = diff.iter().filter(|&&d| d > 2.0 / 255.0).count() as f64 / diff.len() as f64;
    eprintln!("f16 vs f32 weights: max |Δpixel| {max:.1e}, mean {mean:.1e}, {:.2} % beyond one level", 100.0 * beyond);
    assert!(beyond < 0.01 && mean < 1e-3 && max < 0.15, "max {max}, mean {mean}, beyond one level {beyond}");
    let size = |f: &str| std::fs::metadata(format!("{dir}/{f}")).unwrap().len();
    assert!(size("fashion-f16.safetensors") * 10 < size("fashion.safetensors") * 6, "not half the size");
}

#[test]
fn an_rgb_grid_decodes_to_its_values() {
    // two 3×4×4 images, channel-major, with distinct values in every channel
    let image = |k: usize| -> Vec<f64> { (0..48).map(|i| ((i * 5 + k * 17) % 256) as f64 / 127.5 - 1.0).collect() };
    let bytes = png_grid(&[image(0), image(1)], 3, 2).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut pixels = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height, info.color_type), (11, 6, png::ColorType::Rgb));
    for k in 0..2 {
        let im = image(k);
        for p in 0..16 {
            let at = (1 + p / 4) * 11 + 1 + k * 5 + p % 4;
            for c in 0..3 {
                let want = ((im[c * 16 + p] + 1.0) * 127.5).round() as u8;
                assert_eq!(pixels[at * 3 + c], want, "image {k} pixel {p} channel {c}");
            }
        }
    }
    // detail in colour costs bits too: a flat RGB image against RGB noise
    let mut rng = HostRng::new(2);
    let noise: Vec<f64> = (0..3 * 32 * 32).map(|_| rng.uniform() * 2.0 - 1.0).collect();
    let (flat, noisy) = (png_bits_per_pixel(&[0.5; 3072], 3).unwrap(), png_bits_per_pixel(&noise, 3).unwrap());
    assert!(flat < 1.0 && noisy > 22.0, "flat {flat}, noise {noisy} bits per pixel (24 uncompressed)");
}
