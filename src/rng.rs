//! Host-side randomness: latents and probes are drawn on the host from one seed, so the
//! same seed gives the same run on every backend and precision.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{RngExt, SeedableRng, rngs::StdRng};

pub struct HostRng(StdRng);

impl HostRng {
    pub fn new(seed: u64) -> Self {
        HostRng(StdRng::seed_from_u64(seed))
    }

    /// Two generators with one stream: common random numbers for finite differences.
    pub fn twins(&mut self) -> (HostRng, HostRng) {
        let seed = self.0.random::<u64>();
        (HostRng::new(seed), HostRng::new(seed))
    }

    pub fn uniform(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// A standard normal draw (Box–Muller; one value per call keeps streams simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn normals(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.normal()).collect()
    }

    pub fn rademacher(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| if self.0.random::<bool>() { 1.0 } else { -1.0 }).collect()
    }

    pub fn normal_tensor(&mut self, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
        tensor2(self.normals(rows * cols), rows, cols, device)
    }
}

/// A `[rows, cols]` tensor from host values, in the device's float type.
pub fn tensor2(values: Vec<f64>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

pub fn tensor1(values: Vec<f64>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}
