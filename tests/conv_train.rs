//! The kernels against burn flex's own operators (`DG_HOST_KERNELS=0`): a few flow-matching
//! steps of the Fashion-MNIST U-Net (Adam, as `dg train` takes them) from the same initial
//! weights and batches, with the convolutions, group norm and SiLU fused (src/nets/conv_op.rs,
//! norm_op.rs, silu_op.rs) and on flex, give the same loss at every step; the host U-Net
//! (src/nets/host.rs) on the shipped weights gives flex's velocity.
//! One test alone in its binary, because it sets an environment variable.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use dg::nets::host::HostUNet;
use dg::nets::{Conditioning, conditioned};
use dg::nets::{Net, UNet, UNetConfig};
use dg::sampling::device::{Precision, cpu};
use dg::sampling::score::Predictor;

use common::draws::{Rng, host, rel_err};

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
        let t: Vec<f32> = (0..BATCH).map(|_| rng.unit()).collect();
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

/// The host U-Net against burn's module on flex's own operators (called with the kernels off).
fn host_unet_matches_flex(d: &Device) {
    assert!(!dg::nets::kernels::serves(d), "the kernels must be off");
    let path = format!("{}/models/fashion.safetensors", env!("CARGO_MANIFEST_DIR"));
    let Net::UNet(net, config) = Net::from_bytes(std::fs::read(&path).unwrap(), &path, d).unwrap() else {
        panic!("fashion is a U-Net")
    };
    let mut rng = Rng(3);
    for cfg in [1.0, 2.0] {
        let cond = Conditioning { classes: vec![3, 1, 4, 1, 5, 9, 2, 6], cfg, ..Default::default() };
        let host_net = HostUNet::new(conditioned(net.clone(), config, &cond));
        for (b, lambda) in [(5, -3.0), (8, 0.0), (3, 4.0)] {
            let scale = 1.0 + f64::exp(-lambda).sqrt() as f32;
            let x = Tensor::<2>::from_data(TensorData::new(rng.vec(b * 784), [b, 784]), d).mul_scalar(scale);
            let got = host(host_net.predict(x.clone(), lambda));
            let e = rel_err(&got, &host(host_net.burn.predict(x, lambda)));
            eprintln!("host U-Net against flex, cfg {cfg}, batch {b}, λ {lambda}: relative error {e:e}");
            // f32 through 21 layers with different summation orders (and a polynomial exp)
            assert!(e < 2e-5, "cfg {cfg} batch {b} λ {lambda}: relative error {e:e}");
        }
    }
}

#[test]
fn the_kernels_match_flex_in_training_and_in_the_host_unet() {
    let ad = cpu(Precision::F32).unwrap().autodiff();
    let model = UNetConfig::default().init(&ad);
    assert!(dg::nets::kernels::serves(&ad), "the kernels serve flex in f32 (is DG_HOST_KERNELS=0 set?)");
    let fast = losses(model.clone(), &ad);
    // SAFETY: this binary's only test; no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("DG_HOST_KERNELS", "0") };
    assert!(!dg::nets::kernels::serves(&ad));
    let flex = losses(model, &ad);
    eprintln!("losses on the kernels {fast:?}\nlosses on flex        {flex:?}");
    for (step, (a, b)) in fast.iter().zip(&flex).enumerate() {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "step {step}: loss {a} on the kernels, {b} on flex");
    }
    host_unet_matches_flex(&cpu(Precision::F32).unwrap());
}
