//! The shipped 2-D lab models: their samples match their data sets, the mixture model's score
//! matches its analytic twin where the data live, and bad weight files are clear errors.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use dg::data::{Lab, lab_mixture};
use dg::nets::{Conditioning, open};
use dg::sampling::density::Divergence;
use dg::sampling::device::{Precision, cpu};
use dg::sampling::gmm::Gmm;
use dg::sampling::guidance::Method;
use dg::sampling::rng::{HostRng, tensor2};
use dg::sampling::schedule::Path;
use dg::sampling::score::ScoreModel;
use dg::sampling::solver::Solver;

fn shipped(name: &str) -> String {
    format!("{}/models/{name}.safetensors", env!("CARGO_MANIFEST_DIR"))
}

/// Energy distance between two point sets: 0 exactly when the distributions agree.
fn energy_distance(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let d = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
    let mean = |u: &[Vec<f64>], v: &[Vec<f64>]| {
        u.iter().map(|x| v.iter().map(|y| d(x, y)).sum::<f64>()).sum::<f64>() / (u.len() * v.len()) as f64
    };
    2.0 * mean(a, b) - mean(a, a) - mean(b, b)
}

fn rows(flat: Vec<f64>) -> Vec<Vec<f64>> {
    flat.chunks(2).map(<[f64]>::to_vec).collect()
}

#[test]
fn lab_samples_match_their_data_sets() {
    let device = cpu(Precision::F32).unwrap();
    let n = 800;
    for lab in Lab::ALL {
        let model = open(&shipped(lab.name()), Path::Linear, &Conditioning::default(), &device).unwrap();
        let out = run(model, settings(Method::Plain, Solver::Heun, 48, n, Divergence::Off), &device);
        let data = rows(lab.sample(n, &mut HostRng::new(7)));
        let baseline = energy_distance(&rows(lab.sample(n, &mut HostRng::new(8))), &data);
        let ed = energy_distance(&out.samples, &data);
        eprintln!("{}: energy distance to fresh data {ed:.4} (two fresh data sets: {baseline:.4})", lab.name());
        assert!(ed < 0.02, "{}: {ed}", lab.name());
    }
}

#[test]
fn trained_mixture_score_matches_its_analytic_twin() {
    let device = cpu(Precision::F32).unwrap();
    let model = open(&shipped("gmm"), Path::Linear, &Conditioning::default(), &device).unwrap();
    let exact = Gmm::new(lab_mixture(), Path::Linear, &device).unwrap();
    let mut rng = HostRng::new(3);
    for lambda in [-4.0, -1.0, 1.0, 3.0, 5.0] {
        let p = Path::Linear;
        // points where the marginal at λ lives: α·x_data + σ·ε
        let data = lab_mixture().sample(512, &mut rng);
        let x: Vec<f64> = data.iter().flatten().map(|v| p.alpha(lambda) * v + p.sigma(lambda) * rng.normal()).collect();
        let x = tensor2(x, 512, 2, &device);
        // compare the noise predictions σ·s, the network's scale at every λ
        let a = host(model.score(x.clone(), lambda).mul_scalar(p.sigma(lambda))).concat();
        let b = host(exact.score(x, lambda).mul_scalar(p.sigma(lambda))).concat();
        let err: f64 =
            a.iter().zip(&b).map(|(u, v)| (u - v).powi(2)).sum::<f64>() / b.iter().map(|v| v * v).sum::<f64>();
        eprintln!("λ = {lambda}: relative squared error of σ·s {err:.4}");
        assert!(err < 0.05, "λ = {lambda}: {err}");
    }
}

#[test]
fn bad_weight_files_are_errors() {
    let device = cpu(Precision::F32).unwrap();
    let good = std::fs::read(shipped("moons")).unwrap();
    let dir = std::env::temp_dir().join(format!("dg-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // the same header with the architecture changed: tensors no longer fit
    let text = String::from_utf8_lossy(&good[..good.len().min(4096)]).to_string();
    let resized = good.clone();
    let resized = if text.contains(r#"\"width\":128"#) {
        let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(good[8..8 + header_len].to_vec())
            .unwrap()
            .replace(r#"\"width\":128"#, r#"\"width\":64 "#);
        [&good[..8], header.as_bytes(), &good[8 + header_len..]].concat()
    } else {
        resized
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("header-only", good[..64].to_vec()),
        ("garbage", b"definitely not safetensors, but long enough to have a length".to_vec()),
        ("resized", resized),
    ];
    for (name, bytes) in cases {
        let path = dir.join(format!("{name}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        let path = path.to_string_lossy().to_string();
        let err = match open(&path, Path::Linear, &Conditioning::default(), &device) {
            Ok(_) => panic!("{name}: loaded"),
            Err(e) => e.to_string(),
        };
        eprintln!("{name}: {err}");
        assert!(err.contains(&path) && err.lines().count() == 1, "{name}: {err}");
    }
}

/// `dg train` checkpoints and resumes: a run stopped at step 20 and resumed to 40 restores
/// the optimizer's state for the same parameters (a state orphaned by new parameter ids would
/// be saved beside the new one and double the file), and ships finite weights.
#[test]
fn training_checkpoints_and_resumes() {
    let dir = std::env::temp_dir().join(format!("dg-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("moons.safetensors").to_string_lossy().into_owned();
    let cfg = |steps| dg::training::flow::TrainConfig {
        data: "moons".into(),
        arch: dg::nets::Arch::Mlp(dg::nets::MlpConfig { width: 16, ..Default::default() }),
        steps,
        batch: 64,
        lr: 2e-3,
        warmup: 5,
        ema: 0.99,
        seed: 0,
        label_dropout: 0.0,
        out: out.clone(),
        checkpoint_every: 20,
    };
    let device = cpu(Precision::F32).unwrap();
    let optim = format!("{out}.ckpt/optim.bpk");
    dg::training::flow::train(&cfg(20), &device, |_| {}).unwrap();
    let first = std::fs::metadata(&optim).unwrap().len();
    let summary = dg::training::flow::train(&cfg(40), &device, |_| {}).unwrap();
    let resumed = std::fs::metadata(&optim).unwrap().len();
    eprintln!("optimizer state: {first} bytes at step 20, {resumed} after resuming to 40");
    assert!(resumed < first + first / 10, "the optimizer state grew on resume: {first} -> {resumed} bytes");
    assert!(summary.final_loss.is_finite());
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{out}.ckpt/state.json")).unwrap()).unwrap();
    assert_eq!(state["step"], 40);
    let model = open(&out, Path::Linear, &Conditioning::default(), &device).unwrap();
    let s = model.score(tensor2(vec![0.1, -0.2], 1, 2, &device), 0.0);
    assert!(dg::sampling::sampler::host2(s).unwrap()[0].iter().all(|v| v.is_finite()));
    std::fs::remove_dir_all(&dir).unwrap();
}
