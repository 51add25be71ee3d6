//! The 2-D lab's data: generators of four toy densities, each scaled to about unit spread;
//! one of them a Gaussian mixture whose density is known exactly.

use crate::sampling::gmm::MixtureSpec;
use crate::sampling::rng::HostRng;

/// The 2-D lab's data sets, each scaled to about unit spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lab {
    Moons,
    EightGaussians,
    Checkerboard,
    /// A mixture with a known density: its trained model has an analytic twin.
    Gmm,
}

impl Lab {
    pub const ALL: [Lab; 4] = [Lab::Moons, Lab::EightGaussians, Lab::Checkerboard, Lab::Gmm];

    pub fn parse(s: &str) -> Option<Lab> {
        Lab::ALL.into_iter().find(|l| l.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Lab::Moons => "moons",
            Lab::EightGaussians => "8gaussians",
            Lab::Checkerboard => "checkerboard",
            Lab::Gmm => "gmm",
        }
    }

    /// `n` points, flat `[n·2]`.
    pub fn sample(self, n: usize, rng: &mut HostRng) -> Vec<f64> {
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let (x, y) = match self {
                Lab::Moons => {
                    let a = std::f64::consts::PI * rng.uniform();
                    let (x, y) = if rng.uniform() < 0.5 { (a.cos(), a.sin()) } else { (1.0 - a.cos(), 0.5 - a.sin()) };
                    ((x - 0.5) * 1.6 + 0.08 * rng.normal(), (y - 0.25) * 1.6 + 0.08 * rng.normal())
                }
                Lab::EightGaussians => {
                    let k = (rng.uniform() * 8.0).floor();
                    let a = k * std::f64::consts::FRAC_PI_4;
                    (1.5 * a.cos() + 0.1 * rng.normal(), 1.5 * a.sin() + 0.1 * rng.normal())
                }
                Lab::Checkerboard => {
                    // 4×4 board on [-2, 2]², only the dark squares
                    let (i, j) = ((rng.uniform() * 4.0).floor(), (rng.uniform() * 2.0).floor());
                    let j = 2.0 * j + (i % 2.0);
                    (i - 2.0 + rng.uniform(), j - 2.0 + rng.uniform())
                }
                Lab::Gmm => {
                    let p = lab_mixture().sample(1, rng).remove(0);
                    (p[0], p[1])
                }
            };
            out.push(x);
            out.push(y);
        }
        out
    }
}

/// The lab's mixture; `models/lab-gmm.json` holds the same numbers for `gmm:` use.
pub fn lab_mixture() -> MixtureSpec {
    MixtureSpec {
        weights: vec![0.35, 0.25, 0.25, 0.15],
        means: vec![vec![-1.2, -0.6], vec![1.0, 1.0], vec![1.1, -1.0], vec![-0.6, 1.3]],
        stds: vec![0.3, 0.25, 0.4, 0.2],
    }
}
