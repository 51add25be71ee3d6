//! A few flow-matching steps of the Fashion-MNIST U-Net (Adam, as `dg train` takes them) from
//! the same initial weights and batches, with the convolutions and SiLU on the kernels
//! (src/conv_op.rs, src/silu_op.rs) and on burn flex (`DG_HOST_KERNELS=0`): the same loss at
//! every step.
//! Alone in its binary because it sets an environment variable.
#![cfg(not(target_arch = "wasm32"))]

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use dg::device::{Precision, cpu};
use dg::nets::{UNet, UNetConfig};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform() * 2.0 - 1.0).collect()
    }
}

const BATCH: usize = 16;
const STEPS: usize = 6;

/// The batch losses of `STEPS` steps from `model` on fixed pseudo-random data.
fn losses(mut model: UNet, ad: &Device) -> Vec<f64> {
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let image = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [BATCH, 1, 28, 28]), ad);
    let mut out = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let x = image(rng.vec(BATCH * 784));
        let eps = image(rng.vec(BATCH * 784));
        let t: Vec<f32> = (0..BATCH).map(|_| rng.uniform()).collect();
        let labels: Vec<i64> = (0..BATCH).map(|_| (rng.next() % 11) as i64).collect();
        let t = Tensor::<1>::from_data(TensorData::new(t, [BATCH]), ad);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [BATCH]), ad);
        let tc = t.clone().reshape([BATCH, 1, 1, 1]);
        let xt = x.clone() * tc.clone().neg().add_scalar(1.0) + eps.clone() * tc;
        let loss = (model.forward(xt, t, labels) - (eps - x)).square().mean();
        out.push(loss.clone().inner().into_scalar::<f64>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(2e-3, model, grads);
    }
    out
}

#[test]
fn training_steps_give_the_same_losses_on_the_kernels_and_on_flex() {
    let ad = cpu(Precision::F32).unwrap().autodiff();
    let model = UNetConfig::default().init(&ad);
    assert!(dg::host_net::serves(&ad), "the kernels serve flex in f32 (is DG_HOST_KERNELS=0 set?)");
    let fast = losses(model.clone(), &ad);
    // SAFETY: this binary's only test; no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("DG_HOST_KERNELS", "0") };
    assert!(!dg::host_net::serves(&ad));
    let flex = losses(model, &ad);
    eprintln!("losses on the kernels {fast:?}\nlosses on flex        {flex:?}");
    for (step, (a, b)) in fast.iter().zip(&flex).enumerate() {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "step {step}: loss {a} on the kernels, {b} on flex");
    }
}
