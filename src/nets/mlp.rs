//! The 2-D lab's velocity network: an MLP on `[x, time features]`.

use crate::nets::silu_op::silu;
use crate::nets::time::{noise_fraction, time_features};
use crate::sampling::score::{Predictor, Rows};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// The 2-D lab's velocity network: `[x, time features] -> 4 hidden SiLU layers -> v`.
#[derive(Module, Debug)]
pub struct Mlp {
    input: Linear,
    hidden: Vec<Linear>,
    output: Linear,
}

/// Sizes of an [`Mlp`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpConfig {
    pub dim: usize,
    pub width: usize,
    pub depth: usize,
    pub time_dim: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig { dim: 2, width: 128, depth: 3, time_dim: 32 }
    }
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            input: LinearConfig::new(self.dim + self.time_dim, self.width).init(device),
            hidden: (0..self.depth).map(|_| LinearConfig::new(self.width, self.width).init(device)).collect(),
            output: LinearConfig::new(self.width, self.dim).init(device),
        }
    }
}

impl Mlp {
    /// `x: [B, D]`, `t: [B]` -> velocity `[B, D]`.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1>) -> Tensor<2> {
        let time_dim = self.input.weight.dims()[0] - x.dims()[1];
        let mut h = silu(self.input.forward(Tensor::cat(vec![x, time_features(t, time_dim)], 1)));
        for layer in &self.hidden {
            h = silu(layer.forward(h));
        }
        self.output.forward(h)
    }
}

impl Predictor for Mlp {
    fn dim(&self) -> usize {
        self.output.weight.dims()[1]
    }
    fn flops(&self) -> f64 {
        let layers = std::iter::once(&self.input).chain(&self.hidden).chain(std::iter::once(&self.output));
        layers.map(|l| 2.0 * l.weight.shape().num_elements() as f64).sum()
    }
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, _rows: Rows) -> Tensor<2> {
        let [b, _] = x.dims();
        let t = noise_fraction(b, lambda, &x.device());
        self.forward(x, t)
    }
}
