//! Host-side randomness: latents, noise and probes are drawn on the host from one seed, so
//! the same seed gives the same run on every backend and precision.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{RngExt, SeedableRng, rngs::StdRng};

pub struct HostRng(StdRng);

impl HostRng {
    pub fn new(seed: u64) -> Self {
        HostRng(StdRng::seed_from_u64(seed))
    }

    /// The stream of sample `index` of a run seeded with `seed`: the two numbers are the key.
    pub fn for_sample(seed: u64, index: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&index.to_le_bytes());
        HostRng(StdRng::from_seed(key))
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

/// A batch's randomness, one stream per sample keyed by `(seed, index)`: a sample's latent,
/// noise and probes depend on neither the batch size nor how a batch is split across runs
/// (the page splits one over several workers).
pub struct BatchRng {
    streams: Vec<HostRng>,
}

impl BatchRng {
    /// Streams for samples `first..first + batch`.
    pub fn new(seed: u64, first: usize, batch: usize) -> Self {
        let streams = (first..first + batch).map(|i| HostRng::for_sample(seed, i as u64)).collect();
        BatchRng { streams }
    }

    /// `[B, D]` standard normals, row i from sample i's stream.
    pub fn normal_tensor(&mut self, d: usize, device: &Device) -> Tensor<2> {
        let values = self.streams.iter_mut().flat_map(|s| s.normals(d)).collect();
        tensor2(values, self.streams.len(), d, device)
    }

    /// Rademacher probes for `m` replicas of rows `start..start + n`, replica-major
    /// (`[m·n·d]`); each row's values come from its own stream, replica after replica.
    pub fn rademacher(&mut self, m: usize, start: usize, n: usize, d: usize) -> Vec<f64> {
        let rows: Vec<Vec<f64>> = self.streams[start..start + n].iter_mut().map(|s| s.rademacher(m * d)).collect();
        (0..m).flat_map(|j| rows.iter().flat_map(move |r| r[j * d..(j + 1) * d].iter().copied())).collect()
    }

    /// Two batches with the same streams: common random numbers for finite differences.
    pub fn twins(&mut self) -> (BatchRng, BatchRng) {
        let seeds: Vec<u64> = self.streams.iter_mut().map(|s| s.0.random::<u64>()).collect();
        let make = || BatchRng { streams: seeds.iter().map(|&k| HostRng::new(k)).collect() };
        (make(), make())
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
