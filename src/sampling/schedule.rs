//! Gaussian paths `x_λ = α(λ)·x_data + σ(λ)·ε` in log-SNR time λ = log(α²/σ²) (SPEC 1).

use crate::error::{Error, Result, finite};

/// Which noising path the model was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// Linear flow matching (rectified flow): `x_t = (1-t)·x + t·ε`.
    Linear,
    /// Variance preserving: α² + σ² = 1.
    Vp,
    /// Variance exploding: α = 1.
    Ve,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Path {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "linear" => Ok(Path::Linear),
            "vp" => Ok(Path::Vp),
            "ve" => Ok(Path::Ve),
            _ => Err(Error::invalid("path", format!("'{s}' is not one of linear, vp, ve"))),
        }
    }

    pub fn alpha(self, lambda: f64) -> f64 {
        match self {
            Path::Linear => sigmoid(lambda / 2.0),
            Path::Vp => sigmoid(lambda).sqrt(),
            Path::Ve => 1.0,
        }
    }

    pub fn sigma(self, lambda: f64) -> f64 {
        match self {
            Path::Linear => sigmoid(-lambda / 2.0),
            Path::Vp => sigmoid(-lambda).sqrt(),
            Path::Ve => (-lambda / 2.0).exp(),
        }
    }

    /// `f = d log α / dλ`, the linear part of the probability-flow drift.
    pub fn f(self, lambda: f64) -> f64 {
        match self {
            Path::Linear => 0.5 * self.sigma(lambda),
            Path::Vp => 0.5 * sigmoid(-lambda),
            Path::Ve => 0.0,
        }
    }
}

/// The λ interval a sampler integrates over, from noise (`lambda_min`) to data (`lambda_max`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub lambda_min: f64,
    pub lambda_max: f64,
}

impl Default for Window {
    fn default() -> Self {
        Window { lambda_min: -10.0, lambda_max: 10.0 }
    }
}

impl Window {
    pub fn new(lambda_min: f64, lambda_max: f64) -> Result<Self> {
        let w = Window { lambda_min, lambda_max };
        w.validate()?;
        Ok(w)
    }

    pub fn validate(&self) -> Result<()> {
        finite("lambda-min", self.lambda_min)?;
        finite("lambda-max", self.lambda_max)?;
        if self.lambda_min >= self.lambda_max {
            return Err(Error::invalid(
                "lambda-min",
                format!("must be below lambda-max ({} >= {})", self.lambda_min, self.lambda_max),
            ));
        }
        Ok(())
    }

    pub fn width(&self) -> f64 {
        self.lambda_max - self.lambda_min
    }

    /// A uniform grid of `steps + 1` points from `lambda_min` to `lambda_max`.
    pub fn grid(&self, steps: usize) -> Vec<f64> {
        let h = self.width() / steps as f64;
        (0..=steps).map(|i| if i == steps { self.lambda_max } else { self.lambda_min + h * i as f64 }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_snr_is_lambda_on_every_path() {
        for path in [Path::Linear, Path::Vp, Path::Ve] {
            for l in [-10.0, -3.0, 0.0, 2.5, 10.0] {
                let (a, s) = (path.alpha(l), path.sigma(l));
                assert!(((a * a / (s * s)).ln() - l).abs() < 1e-10, "{path:?} at {l}");
                // f = d log α / dλ by central difference
                let h = 1e-5;
                let fd = (path.alpha(l + h).ln() - path.alpha(l - h).ln()) / (2.0 * h);
                assert!((fd - path.f(l)).abs() < 1e-8, "{path:?} f at {l}");
            }
        }
        // linear path: α + σ = 1 (t = σ)
        assert!((Path::Linear.alpha(1.3) + Path::Linear.sigma(1.3) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn grid_ends_exactly_and_window_rejects_bad_bounds() {
        let g = Window::default().grid(7);
        assert_eq!((g.len(), g[0], g[7]), (8, -10.0, 10.0));
        assert!(Window::new(1.0, 1.0).unwrap_err().to_string().contains("lambda-min"));
        assert!(Window::new(f64::NAN, 1.0).is_err());
    }
}
