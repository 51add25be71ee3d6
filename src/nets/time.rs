//! How the networks see the noise level: the noise fraction `t = σ(λ)` of the linear path,
//! as sinusoidal features.

use crate::sampling::rng::tensor2;
use crate::sampling::schedule::Path;
use burn::tensor::{Device, Tensor};

/// Sinusoidal features of t ∈ [0, 1], `[B] -> [B, dim]`.
pub(crate) fn time_features(t: Tensor<1>, dim: usize) -> Tensor<2> {
    let half = dim / 2;
    let freqs: Vec<f64> = (0..half).map(|i| 1000f64.powf(i as f64 / half as f64)).collect();
    let device = t.device();
    let f = tensor2(freqs, 1, half, &device);
    let arg = t.unsqueeze_dim::<2>(1).mul_scalar(std::f64::consts::PI) * f;
    Tensor::cat(vec![arg.clone().sin(), arg.cos()], 1)
}

/// The noise fraction `t = σ(λ)` of the linear path, for a batch.
pub(crate) fn noise_fraction(b: usize, lambda: f64, device: &Device) -> Tensor<1> {
    Tensor::full([b], Path::Linear.sigma(lambda), device)
}
