//! The `dg` binary: JSON for every subcommand and method; bad input is one line on stderr
//! naming the parameter, with a non-zero exit, never a panic.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::fixture;
use serde_json::Value;
use std::process::Command;

fn dg(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dg")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn ok(args: &[&str]) -> Value {
    let (code, out, err) = dg(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("dg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into()
}

#[test]
fn every_method_prints_its_json() {
    let model = format!("gmm:{}", fixture("gmm2.json"));
    let base = ["sample", "--model", model.as_str(), "--batch", "4", "--steps", "32"];
    for extra in [
        &["--method", "plain"][..],
        &["--method", "prior", "--q", "0.7"],
        &["--method", "dg", "--q", "0.3", "--solver", "rk4"],
        &["--method", "dg-exact", "--target-logp", "-2.5"],
        &["--method", "sdg", "--q", "0.4", "--noise", "early", "--sdg-exact"],
        &["--method", "sdg", "--noise", "0.2:-5:5", "--logp", "hutchinson"],
        &["--method", "dg", "--q", "0.2", "--logp", "off", "--path", "vp"],
    ] {
        let v = ok(&[&base[..], extra].concat());
        for key in ["latent", "samples", "logp_start", "logp", "guard_steps", "nfe"] {
            assert!(v.get(key).is_some(), "{extra:?}: no {key}");
        }
        assert_eq!(v["samples"].as_array().unwrap().len(), 4);
        assert_eq!(v["samples"][0].as_array().unwrap().len(), 2);
        assert!(v["nfe"].as_u64().unwrap() >= 32);
    }
    let v = ok(&[
        "sample",
        "--model",
        &model,
        "--batch",
        "4",
        "--steps",
        "200",
        "--method",
        "dg-exact",
        "--target-logp",
        "-2.5",
        "--solver",
        "rk4",
        "--lambda-max",
        "4",
    ]);
    // The tracked log p equals the target by construction (the rate is set from it), so the
    // samples are measured independently: the mixture's closed-form log p at λ = 4, and the
    // samples encoded back to the prior with `dg logp`.
    let samples: Vec<Vec<f64>> = serde_json::from_value(v["samples"].clone()).unwrap();
    let device = dg::sampling::device::cpu_f64();
    let mixture = common::gmm("gmm2.json", &device);
    let exact = common::exact_logp(&*mixture, &samples, 4.0, &device);
    let input = temp("dg-exact-samples.json", &serde_json::json!({ "samples": samples }).to_string());
    let encoded = ok(&[
        "logp",
        "--model",
        &model,
        "--input",
        &input,
        "--steps",
        "400",
        "--solver",
        "rk4",
        "--lambda-max",
        "4",
    ])["logp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect::<Vec<_>>();
    let err = exact.iter().map(|lp| (lp + 2.5).abs()).fold(0.0, f64::max);
    let enc_err = encoded.iter().map(|lp| (lp + 2.5).abs()).fold(0.0, f64::max);
    eprintln!(
        "dg-exact to -2.5: closed-form log p {exact:?} (max error {err:.1e}), encoded {encoded:?} ({enc_err:.1e})"
    );
    // measured within 4.2e-8 nats (closed form) and 4.1e-8 (encoded): 20x room
    assert!(err < 1e-6, "closed-form log p of the samples {exact:?}, target -2.5");
    assert!(enc_err < 1e-6, "encoded log p of the samples {encoded:?}, target -2.5");
}

#[test]
fn logp_and_align_print_their_json() {
    let model = format!("gmm:{}", fixture("gmm2.json"));
    let input = temp("in.json", r#"{"samples": [[-1.5, 0.0], [1.0, 1.2], [0.0, 0.0]]}"#);
    let v = ok(&["logp", "--model", &model, "--input", &input, "--steps", "200", "--solver", "rk4"]);
    let lp: Vec<f64> = v["logp"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(lp.len(), 3);
    assert!(lp[0] > lp[2] && lp[1] > lp[2], "modes are likelier than the gap between them: {lp:?}");
    let v = ok(&["align", "--model", &model, "--batch", "5", "--steps", "50", "--lambda-max", "1"]);
    assert_eq!(v["sa_with_score"].as_array().unwrap().len(), 5);
    assert_eq!(v["sa_without_score"].as_array().unwrap().len(), 5);
    assert_eq!(v["latent"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_input_is_one_line_naming_the_parameter() {
    let good = format!("gmm:{}", fixture("gmm2.json"));
    let file = |name: &str, text: &str| format!("gmm:{}", temp(name, text));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--method", "dg", "--q", "1.5"], "q"),
        (vec!["--method", "dg", "--q", "0"], "q"),
        (vec!["--method", "prior", "--q", "NaN"], "q"),
        (vec!["--method", "sdg", "--q", "inf"], "q"),
        (vec!["--steps", "0"], "steps"),
        (vec!["--batch", "0"], "batch"),
        (vec!["--lambda-min", "5", "--lambda-max", "1"], "lambda-min"),
        (vec!["--lambda-max", "nan"], "lambda-max"),
        (vec!["--method", "dg-exact"], "target-logp"),
        (vec!["--method", "dg-exact", "--target-logp", "nan"], "target-logp"),
        (vec!["--method", "dg-exact", "--target-logp", "-2", "--logp", "off"], "logp"),
        (vec!["--method", "sdg", "--solver", "rk4"], "solver"),
        (vec!["--method", "sdg", "--noise", "loud"], "noise"),
        (vec!["--method", "magic"], "method"),
        (vec!["--solver", "leapfrog"], "solver"),
        (vec!["--path", "cosine"], "path"),
        (vec!["--precision", "f16"], "precision"),
        (vec!["--backend", "wgpu", "--precision", "f64"], "precision"),
        (vec!["--steps", "ten"], "--steps"),
        (vec!["--logp", "hutchinson", "--probes", "0"], "probes"),
    ]
    .into_iter()
    .map(|(a, p)| (a.into_iter().map(String::from).collect(), p))
    .collect();
    let models = [
        (file("empty.json", ""), "empty.json"),
        (file("broken.json", "{\"weights\": [1.0], \"means\": [[0.0"), "broken.json"),
        (file("negstd.json", r#"{"weights": [1.0], "means": [[0.0, 0.0]], "stds": [-1.0]}"#), "stds"),
        (file("negw.json", r#"{"weights": [-0.5, 1.5], "means": [[0.0], [1.0]], "stds": [1.0, 1.0]}"#), "weights"),
        (file("none.json", r#"{"weights": [], "means": [], "stds": []}"#), "weights"),
        (file("ragged.json", r#"{"weights": [1, 1], "means": [[0.0, 0.0], [1.0]], "stds": [1, 1]}"#), "means"),
        ("gmm:/nonexistent/mixture.json".to_string(), "mixture.json"),
        ("unet:weights.bin".to_string(), "model"),
    ];
    let mut all: Vec<(Vec<String>, String, &str)> = cases.into_iter().map(|(a, p)| (a, good.clone(), p)).collect();
    all.extend(models.into_iter().map(|(m, p)| (vec![], m, p)));
    for (args, model, param) in all {
        let mut full = vec![
            "sample".to_string(),
            "--model".into(),
            model,
            "--batch".into(),
            "2".into(),
            "--steps".into(),
            "4".into(),
        ];
        full.extend(args);
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let (code, out, err) = dg(&refs);
        assert_ne!(code, 0, "{full:?} succeeded");
        assert!(out.is_empty(), "{full:?} printed {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{full:?}: not one line: {err}");
        assert!(err.contains(param), "{full:?}: '{err}' does not name {param}");
        assert!(!err.contains("panicked"), "{full:?}: {err}");
    }
    // bad samples for logp
    for (i, (text, param)) in [
        ("{\"samples\": []}", "samples"),
        ("{\"samples\": [[1.0, 2.0, 3.0]]}", "samples"),
        ("{\"samples\": [[1.0, NaN]]}", "bad2.json"),
        ("[1, 2]", "bad3.json"),
    ]
    .into_iter()
    .enumerate()
    {
        let input = temp(&format!("bad{i}.json"), text);
        let (code, _, err) = dg(&["logp", "--model", &good, "--input", &input]);
        assert_ne!(code, 0);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(param), "{text}: '{err}'");
    }
}

/// Requests out of reach (hours of work, or more memory than the machine has) are refused
/// before any work, in one line naming the setting and its bound.
#[test]
fn requests_out_of_reach_are_refused_with_their_bound() {
    let gmm = format!("gmm:{}", fixture("gmm2.json"));
    for (args, want) in [
        (
            vec!["--model", &gmm, "--steps", "1000000000"],
            "invalid steps: 1000000000 is more than this build allows (20000)",
        ),
        (vec!["--model", &gmm, "--batch", "100000000"], "invalid batch: 100000000 is more than this build allows"),
        (vec!["--model", &gmm, "--logp", "hutchinson", "--probes", "1000"], "invalid probes: 1000 is more than"),
        (vec!["--model", "fashion", "--batch", "30000"], "in 784 dimensions: batch × dimension is at most"),
    ] {
        let full = [&["sample"][..], &args].concat();
        let t = std::time::Instant::now();
        let (code, out, err) = dg(&full);
        eprintln!("{full:?}: refused in {:.2} s: {}", t.elapsed().as_secs_f64(), err.trim_end());
        assert_ne!(code, 0, "{full:?}");
        assert!(out.is_empty(), "{full:?}: {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{full:?}: {err}");
        assert!(err.contains(want), "{full:?}: '{err}' does not say '{want}'");
    }
}

/// `--precision auto` (the default): networks in f32 (their weights' precision), mixtures in
/// f64; `--precision` still chooses.
#[test]
fn precision_defaults_to_f32_for_networks_and_f64_for_mixtures() {
    let gmm = format!("gmm:{}", fixture("gmm2.json"));
    for (model, extra, want) in [
        ("moons", &[][..], "f32"),
        (gmm.as_str(), &[][..], "f64"),
        ("moons", &["--precision", "f64"][..], "f64"),
        (gmm.as_str(), &["--precision", "f32"][..], "f32"),
    ] {
        let mut args = vec!["bench", "--model", model, "--batch", "4", "--steps", "2", "--repeats", "1"];
        args.extend(["--methods", "dg"]);
        args.extend(extra);
        assert_eq!(ok(&args)["precision"], want, "{args:?}");
    }
}

/// Networks hold f32 weights; on an f64 device they once crashed in a matmul. The default
/// `--logp auto` tracks Fashion-MNIST's log p with Hutchinson: the exact divergence (784
/// backward passes per evaluation) once made this command look hung.
#[test]
fn shipped_networks_sample_in_both_precisions() {
    for (model, dim, extra) in [
        ("moons", 2, &[][..]),
        ("gmm", 2, &["--precision", "f64"]),
        ("fashion", 784, &["--class", "trouser", "--cfg", "2"]),
        ("fashion", 784, &["--precision", "f64"]),
    ] {
        let mut args = vec!["sample", "--model", model, "--method", "dg", "--q", "0.3", "--steps", "4", "--batch", "3"];
        args.extend(extra);
        let v = ok(&args);
        let samples = v["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 3, "{model}");
        assert!(
            samples.iter().all(|s| s.as_array().unwrap().len() == dim
                && s.as_array().unwrap().iter().all(|x| x.as_f64().unwrap().is_finite())),
            "{model}"
        );
        let logp = v["logp"].as_array().unwrap();
        assert!(logp.iter().all(|l| l.as_f64().is_some_and(f64::is_finite)), "{model}: log p {logp:?}");
    }
}

/// Ctrl-C (SIGINT) mid-run ends the process with one line and exit code 130: no panic trace,
/// no partial JSON on stdout.
#[test]
fn ctrl_c_stops_a_run_with_one_line() {
    let child = Command::new(env!("CARGO_BIN_EXE_dg"))
        .args(["sample", "--model", "fashion", "--batch", "64", "--steps", "20000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.trim(), "dg: interrupted");
}

/// `dg eval --detail --qs` refuses a q outside (0, 1) (or none) in one line naming `qs`, before
/// loading any data.
#[test]
fn eval_detail_refuses_q_outside_the_open_interval() {
    for qs in ["0,0.5", "0.5,1", "-0.2", "NaN"] {
        let args = ["eval", "--model", "fashion", "--detail", "--qs", qs, "--out", "/nonexistent/detail"];
        let (code, out, err) = dg(&args);
        assert_ne!(code, 0, "{qs}: accepted");
        assert!(out.is_empty(), "{qs}: {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{qs}: not one line: {err}");
        assert!(err.contains("qs") && err.contains("(0, 1)"), "{qs}: '{err}' does not name qs and its range");
    }
}

/// `dg eval --solver` takes euler, heun or rk4; anything else is refused in one line naming
/// the setting, for the report and for `--detail`, before any output folder is made.
#[test]
fn eval_refuses_an_unknown_solver() {
    for detail in [false, true] {
        let mut args = vec!["eval", "--model", "fashion", "--solver", "midpoint", "--out", "/nonexistent/eval"];
        if detail {
            args.push("--detail");
        }
        let (code, out, err) = dg(&args);
        assert_ne!(code, 0, "detail {detail}: accepted");
        assert!(out.is_empty(), "detail {detail}: {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "detail {detail}: not one line: {err}");
        assert!(err.contains("solver") && err.contains("midpoint"), "detail {detail}: '{err}'");
    }
}

/// A safetensors file's tensors by name, each as its dtype, shape and bytes (the header's
/// metadata, whose key order varies from run to run, left out).
fn tensors(bytes: &[u8]) -> std::collections::BTreeMap<String, (Value, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let [a, b] = [0, 1].map(|i| info["data_offsets"][i].as_u64().unwrap() as usize);
            let kind = serde_json::json!([info["dtype"], info["shape"]]);
            (name, (kind, data[a..b].to_vec()))
        })
        .collect()
}

/// `dg train` is reproducible: two runs with the same seed write the same weights, bit for bit
/// (the initial weights and the batches both follow `--seed`), and another seed others.
#[test]
fn training_twice_with_one_seed_gives_the_same_weights() {
    let dir = std::env::temp_dir().join(format!("dg-cli-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let weights = |name: &str, seed: &str| {
        let out = dir.join(name).to_string_lossy().into_owned();
        let args = ["train", "--data", "moons", "--width", "16", "--steps", "8", "--batch", "32", "--seed", seed];
        let (code, _, err) = dg(&[&args[..], &["--out", &out]].concat());
        assert_eq!(code, 0, "{err}");
        tensors(&std::fs::read(&out).unwrap())
    };
    let (a, b, c) = (weights("a.safetensors", "3"), weights("b.safetensors", "3"), weights("c.safetensors", "4"));
    assert!(a == b, "two runs with seed 3 wrote different weights");
    assert!(a != c, "seeds 3 and 4 wrote the same weights");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An image U-Net with no channels or no blocks at its lowest level is refused in one line
/// naming the setting, before any data is read or any weights are written.
#[test]
fn a_u_net_without_a_lowest_level_is_refused() {
    let out = std::env::temp_dir().join(format!("dg-cli-bottom-{}.safetensors", std::process::id()));
    let out = out.to_string_lossy().into_owned();
    for setting in [["--bottom", "0"], ["--mid-blocks", "0"]] {
        let args = ["train", "--data", "fashion", "--steps", "2", "--out", &out];
        let (code, stdout, err) = dg(&[&args[..], &setting[..]].concat());
        assert_ne!(code, 0, "{setting:?} was accepted");
        assert!(stdout.is_empty(), "{setting:?}: {stdout}");
        assert_eq!(err.trim_end().lines().count(), 1, "{setting:?}: {err}");
        assert!(err.contains(setting[0]), "{setting:?}: '{err}' does not name it");
        assert!(!std::path::Path::new(&out).exists(), "{setting:?}: weights written");
    }
}
