//! Shared helpers: fixtures on the f64 CPU device, runs, and the analytic oracle.
#![allow(dead_code)]

pub mod draws;

use burn::tensor::{Device, Tensor};
use dg::sampling::density::Divergence;
use dg::sampling::gmm::{Gmm, MixtureSpec, load_spec};
use dg::sampling::guidance::Method;
use dg::sampling::sampler::{Outcome, Sampler, Settings};
use dg::sampling::schedule::{Path, Window};
use dg::sampling::score::ScoreModel;
use dg::sampling::solver::Solver;
use std::rc::Rc;

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn spec(name: &str) -> MixtureSpec {
    load_spec(&fixture(name)).unwrap()
}

pub fn gmm(name: &str, device: &Device) -> Rc<Gmm> {
    Rc::new(Gmm::new(spec(name), Path::Linear, device).unwrap())
}

pub fn settings(method: Method, solver: Solver, steps: usize, batch: usize, divergence: Divergence) -> Settings {
    Settings { method, solver, steps, batch, divergence, seed: 1, window: Window::default(), ..Default::default() }
}

pub fn run(model: Rc<dyn ScoreModel>, s: Settings, device: &Device) -> Outcome {
    let mut sampler = Sampler::new(model, s, device).unwrap();
    sampler.run();
    sampler.finish().unwrap()
}

/// Analytic log p of the marginal at λ, at host points.
pub fn exact_logp(model: &dyn ScoreModel, points: &[Vec<f64>], lambda: f64, device: &Device) -> Vec<f64> {
    let x = dg::sampling::sampler::rows(points, model.dim(), "points", device).unwrap();
    host1(model.log_prob(x, lambda).expect("a closed form"))
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub fn std(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

pub fn host(t: Tensor<2>) -> Vec<Vec<f64>> {
    dg::sampling::sampler::host2(t).unwrap()
}

pub fn host1(t: Tensor<1>) -> Vec<f64> {
    dg::sampling::sampler::host1(t).unwrap()
}

/// Φ: the plain probability-flow ODE by RK4, with no tracking.
pub fn plain_flow(model: &dyn ScoreModel, x: Tensor<2>, w: Window, steps: usize) -> Tensor<2> {
    let p = model.path();
    dg::sampling::solver::integrate(Solver::Rk4, x, &w.grid(steps), |x, l| {
        Ok(x.clone().mul_scalar(p.f(l)) + model.score(x.clone(), l).mul_scalar(0.5 * p.sigma(l).powi(2)))
    })
    .unwrap()
}

/// The mixture seen only through its score, as a network is: divergences by autodiff,
/// Jacobian products by finite differences.
pub struct NoClosedForm<M>(pub M);

impl<M: ScoreModel> ScoreModel for NoClosedForm<M> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn path(&self) -> Path {
        self.0.path()
    }
    fn score(&self, x: Tensor<2>, lambda: f64) -> Tensor<2> {
        self.0.score(x, lambda)
    }
    fn data_variance(&self) -> f64 {
        self.0.data_variance()
    }
}
