//! Explicit one-step solvers on any λ grid. They know nothing of what the drift means: the
//! state is anything that can do `y + h·k` ([`OdeState`]), the drift a closure.

use crate::error::{Error, Result};
use burn::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    Euler,
    Heun,
    Rk4,
}

impl Solver {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "euler" => Ok(Solver::Euler),
            "heun" => Ok(Solver::Heun),
            "rk4" => Ok(Solver::Rk4),
            _ => Err(Error::invalid("solver", format!("'{s}' is not one of euler, heun, rk4"))),
        }
    }

    /// Drift evaluations per step.
    pub fn stages(self) -> usize {
        match self {
            Solver::Euler => 1,
            Solver::Heun => 2,
            Solver::Rk4 => 4,
        }
    }
}

/// A state the solvers can advance: `self + h·rate`, where `rate` has the same shape.
pub trait OdeState: Sized {
    fn axpy(&self, h: f64, rate: &Self) -> Self;
}

impl<const D: usize> OdeState for Tensor<D> {
    fn axpy(&self, h: f64, rate: &Self) -> Self {
        self.clone() + rate.clone().mul_scalar(h)
    }
}

/// One step from `lambda` to `lambda + h`. `drift(state, λ)` gives the rate of change.
pub fn step<S: OdeState>(
    solver: Solver,
    y: &S,
    lambda: f64,
    h: f64,
    mut drift: impl FnMut(&S, f64) -> Result<S>,
) -> Result<S> {
    let k1 = drift(y, lambda)?;
    match solver {
        Solver::Euler => Ok(y.axpy(h, &k1)),
        Solver::Heun => {
            let k2 = drift(&y.axpy(h, &k1), lambda + h)?;
            Ok(y.axpy(h / 2.0, &k1).axpy(h / 2.0, &k2))
        }
        Solver::Rk4 => {
            let k2 = drift(&y.axpy(h / 2.0, &k1), lambda + h / 2.0)?;
            let k3 = drift(&y.axpy(h / 2.0, &k2), lambda + h / 2.0)?;
            let k4 = drift(&y.axpy(h, &k3), lambda + h)?;
            Ok(y.axpy(h / 6.0, &k1).axpy(h / 3.0, &k2).axpy(h / 3.0, &k3).axpy(h / 6.0, &k4))
        }
    }
}

/// Integrates over a whole grid (the run-to-the-end call).
pub fn integrate<S: OdeState>(
    solver: Solver,
    y0: S,
    grid: &[f64],
    mut drift: impl FnMut(&S, f64) -> Result<S>,
) -> Result<S> {
    grid.windows(2).try_fold(y0, |y, w| step(solver, &y, w[0], w[1] - w[0], &mut drift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::rng::tensor1;

    /// dy/dλ = y from 0 to 1: the error of each solver falls at its order.
    #[test]
    fn each_solver_converges_at_its_order() {
        let device = crate::sampling::device::cpu_f64();
        for (solver, order) in [(Solver::Euler, 1.0), (Solver::Heun, 2.0), (Solver::Rk4, 4.0)] {
            let err = |n: usize| {
                let grid: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
                let y = integrate(solver, tensor1(vec![1.0], &device), &grid, |y, _| Ok(y.clone())).unwrap();
                (y.into_scalar::<f64>() - 1f64.exp()).abs()
            };
            let rate = (err(16) / err(32)).log2();
            assert!((rate - order).abs() < 0.15, "{solver:?}: observed order {rate}");
        }
    }
}
