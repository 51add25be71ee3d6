//! The same runs in f32 on natively-run wgpu (lavapipe here) agree with f64 on the CPU.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use dg::sampling::density::Divergence;
use dg::sampling::device::{cpu_f64, wgpu};
use dg::sampling::gmm::Gmm;
use dg::sampling::guidance::{Method, Noise};
use dg::sampling::schedule::Path;
use dg::sampling::score::ScoreModel;
use dg::sampling::solver::Solver;
use std::rc::Rc;

#[test]
fn every_method_on_wgpu_f32_matches_the_cpu_in_f64() {
    let cpu = cpu_f64();
    let gpu = wgpu().expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    for name in ["gmm2.json", "gmm16.json"] {
        let methods = [
            Method::Plain,
            Method::Prior { q: 0.7 },
            Method::Dg { q: 0.3, start: None },
            Method::DgExact { target_logp: if name == "gmm2.json" { -2.0 } else { -25.0 } },
            Method::Sdg { q: 0.4, noise: Noise::LATE, exact: true },
        ];
        for method in methods {
            let solver = if matches!(method, Method::Sdg { .. }) { Solver::Euler } else { Solver::Heun };
            let s = settings(method, solver, 32, 8, Divergence::Exact);
            let a = run(gmm(name, &cpu), s.clone(), &cpu);
            let b = run(Rc::new(Gmm::new(spec(name), Path::Linear, &gpu).unwrap()), s, &gpu);
            let dx = max_abs_diff(&a.samples.concat(), &b.samples.concat());
            let dl = max_abs_diff(a.logp.as_ref().unwrap(), b.logp.as_ref().unwrap());
            let scale = a.logp.as_ref().unwrap().iter().fold(1.0f64, |m, v| m.max(v.abs()));
            eprintln!("{name} {method:?}: max |Δx| = {dx:.1e}, max |Δlog p| = {dl:.1e} (scale {scale:.1})");
            assert!(dx < 1e-3, "{name} {method:?}: samples differ by {dx}");
            assert!(dl < 1e-4 * scale.max(10.0), "{name} {method:?}: log p differs by {dl}");
            assert_eq!((a.nfe, a.guard_steps), (b.nfe, b.guard_steps));
        }
    }
}

/// Divergences by autodiff (what networks use) on wgpu agree with the closed form on the CPU.
#[test]
fn autodiff_divergence_on_wgpu_matches_the_closed_form() {
    let cpu = cpu_f64();
    let gpu = wgpu().expect("a wgpu adapter");
    let name = "gmm16.json";
    let mut s = settings(Method::Dg { q: 0.45, start: None }, Solver::Euler, 16, 8, Divergence::Exact);
    s.window = dg::sampling::schedule::Window::new(-10.0, 4.0).unwrap();
    let a = run(gmm(name, &cpu), s.clone(), &cpu);
    let g = Gmm::new(spec(name), Path::Linear, &gpu).unwrap();
    let model: Rc<dyn ScoreModel> = Rc::new(NoClosedForm(g));
    let b = run(model, s, &gpu);
    // the change of log p along the run (the hidden model starts from the Gaussian prior)
    let change = |o: &dg::sampling::sampler::Outcome| -> Vec<f64> {
        o.logp.as_ref().unwrap().iter().zip(&o.logp_start).map(|(a, b)| a - b).collect()
    };
    let dl = max_abs_diff(&change(&a), &change(&b));
    eprintln!("{name}: autodiff divergence on wgpu vs closed form on CPU: max |Δ(log p change)| = {dl:.1e}");
    assert!(dl < 1e-4, "{dl}");
}

/// The browser tests (tests/web.rs) compare the wasm build against these native f64 results;
/// this keeps the fixture current (`DG_BLESS=1` rewrites it after an intended change).
#[test]
fn the_browser_reference_fixture_is_current() {
    let path = fixture("web-reference.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cpu = cpu_f64();
    let bless = std::env::var_os("DG_BLESS").is_some();
    for case in doc["cases"].as_array_mut().unwrap() {
        let s: dg::sampling::sampler::Settings = serde_json::from_value(case["settings"].clone()).unwrap();
        let model: Rc<dyn ScoreModel> = match case["model"].as_str().unwrap() {
            "gmm2" => gmm("gmm2.json", &cpu),
            name => dg::nets::open(name, dg::sampling::schedule::Path::Linear, &Default::default(), &cpu).unwrap(),
        };
        let o = run(model, s, &cpu);
        let name = case["name"].as_str().unwrap().to_string();
        if bless {
            case["samples"] = serde_json::json!(o.samples);
            case["logp"] = serde_json::json!(o.logp);
            continue;
        }
        let stored = |k: &str| -> Vec<f64> {
            serde_json::from_value::<Vec<serde_json::Value>>(case[k].clone())
                .unwrap_or_else(|_| panic!("{name}: no stored {k}; run with DG_BLESS=1"))
                .into_iter()
                .flat_map(|v| {
                    if v.is_array() {
                        serde_json::from_value::<Vec<f64>>(v).unwrap()
                    } else {
                        vec![v.as_f64().unwrap()]
                    }
                })
                .collect()
        };
        let dx = max_abs_diff(&o.samples.concat(), &stored("samples"));
        let dl = max_abs_diff(o.logp.as_ref().unwrap(), &stored("logp"));
        eprintln!("{name}: fixture vs now: max |Δx| = {dx:.1e}, max |Δlog p| = {dl:.1e}");
        assert!(dx < 1e-9 && dl < 1e-9, "{name}: the fixture is stale (Δx {dx}, Δlog p {dl}); DG_BLESS=1 rewrites it");
    }
    if bless {
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
}
