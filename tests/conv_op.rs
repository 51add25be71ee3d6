//! The training convolution (src/conv_op.rs, a burn backend extension on the blocked kernels)
//! against burn flex's own conv2d under autodiff, in f32: the output and the gradients with
//! respect to the input, the weight and the bias, over random shapes; and the fused SiLU
//! (src/silu_op.rs) and group norm (src/norm_op.rs) against burn's.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use dg::sampling::device::{Precision, cpu};

use common::draws::{Rng, host, rel_err};

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], d: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), d)
}

/// The output and the gradients (input, weight, bias) of `Σ conv(x)·r` through `conv`.
fn run(
    conv: impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>,
    x: &Tensor<4>,
    w: &Tensor<4>,
    b: &Tensor<1>,
    r: &Tensor<4>,
) -> [Vec<f32>; 4] {
    let (x, w, b) =
        (x.clone().autodiff().require_grad(), w.clone().autodiff().require_grad(), b.clone().autodiff().require_grad());
    let y = conv(x.clone(), w.clone(), b.clone());
    let grads = (y.clone() * r.clone().autodiff()).sum().backward();
    [host(y.inner()), host(x.grad(&grads).unwrap()), host(w.grad(&grads).unwrap()), host(b.grad(&grads).unwrap())]
}

#[test]
fn forward_and_gradients_match_flex_autodiff_over_random_shapes() {
    let d = cpu(Precision::F32).unwrap();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut worst = [0f64; 4];
    for case in 0..40 {
        let (ic, oc) = (rng.range(1, 64), rng.range(1, 64));
        let (h, w) = (rng.range(5, 33), rng.range(5, 33));
        let k = if rng.range(0, 3) == 0 { 1 } else { 3 };
        let stride = rng.range(1, 2);
        let pad = if k == 1 { 0 } else { rng.range(0, 1) };
        // batch 1–128, fewer for the largest maps so that flex's reference stays quick
        let per_image = ic * oc * h * w * k * k;
        let n = rng.range(1, 128).min((40_000_000 / per_image).max(1));
        let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
        let x = tensor(rng.vec(n * ic * h * w), [n, ic, h, w], &d);
        let wt = tensor(rng.vec(oc * ic * k * k), [oc, ic, k, k], &d);
        let b = tensor(rng.vec(oc), [oc], &d);
        let r = tensor(rng.vec(n * oc * oh * ow), [n, oc, oh, ow], &d);
        let options = ConvOptions::new([stride; 2], [pad; 2], [1; 2], 1);
        let reference = run(|x, w, b| conv2d(x, w, Some(b), options.clone()), &x, &wt, &b, &r);
        let fast = run(|x, w, b| dg::nets::conv_op::conv2d(x, w, b, stride, pad), &x, &wt, &b, &r);
        for (i, name) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().enumerate() {
            let e = rel_err(&fast[i], &reference[i]);
            assert!(
                e < 1e-5,
                "case {case}: n {n}, {ic}→{oc} channels, {h}×{w}, k {k}, stride {stride}, pad {pad}: {name} off by {e:e}"
            );
            worst[i] = worst[i].max(e);
        }
    }
    eprintln!("worst relative errors (output, dx, dw, db): {worst:?}");
}

#[test]
fn fused_silu_and_its_gradient_match_flex_autodiff() {
    let d = cpu(Precision::F32).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in [1, 7, 1000, 70_001] {
        let x = tensor(rng.vec(n).into_iter().map(|v| 12.0 * v).collect(), [n], &d);
        let r = tensor(rng.vec(n), [n], &d);
        let run = |f: &dyn Fn(Tensor<1>) -> Tensor<1>| {
            let xa = x.clone().autodiff().require_grad();
            let y = f(xa.clone());
            let grads = (y.clone() * r.clone().autodiff()).sum().backward();
            [host(y.inner()), host(xa.grad(&grads).unwrap())]
        };
        let reference = run(&burn::tensor::activation::silu);
        let fused = run(&dg::nets::silu_op::fused_silu);
        for (i, name) in ["output", "gradient"].iter().enumerate() {
            let e = rel_err(&fused[i], &reference[i]);
            assert!(e < 1e-5, "{n} elements: {name} off by {e:e}");
        }
    }
}

#[test]
fn fused_group_norm_and_its_gradients_match_flex_autodiff() {
    let d = cpu(Precision::F32).unwrap();
    let mut rng = Rng(0x5851_f42d_4c95_7f2d);
    let mut worst = [0f64; 4];
    // the U-Net's shapes (groups of 8 or fewer channels, 28 to 7 pixels a side) and odd ones
    for (n, c, groups, side) in [(64, 16, 4, 28), (64, 64, 8, 7), (3, 48, 8, 14), (1, 6, 3, 5), (5, 1, 1, 9)] {
        let norm = burn::nn::GroupNormConfig::new(groups, c).init(&d);
        // γ and β away from 1 and 0, an input off-centre and scaled, as activations are
        let gamma = tensor(rng.vec(c).into_iter().map(|v| 1.0 + v).collect(), [c], &d);
        let beta = tensor(rng.vec(c), [c], &d);
        let x =
            tensor(rng.vec(n * c * side * side).into_iter().map(|v| 3.0 * v + 0.5).collect(), [n, c, side, side], &d);
        let r = tensor(rng.vec(n * c * side * side), [n, c, side, side], &d);
        let run = |fused: bool| {
            let (xa, ga, ba) = (
                x.clone().autodiff().require_grad(),
                gamma.clone().autodiff().require_grad(),
                beta.clone().autodiff().require_grad(),
            );
            let y = if fused {
                dg::nets::norm_op::fused_group_norm(xa.clone(), ga.clone(), ba.clone(), groups, norm.epsilon)
            } else {
                // burn's own module, with the same γ and β as parameters
                let module = burn::nn::GroupNorm {
                    gamma: Some(burn::module::Param::from_tensor(ga.clone())),
                    beta: Some(burn::module::Param::from_tensor(ba.clone())),
                    ..norm.clone()
                };
                module.forward(xa.clone())
            };
            let grads = (y.clone() * r.clone().autodiff()).sum().backward();
            [
                host(y.inner()),
                host(xa.grad(&grads).unwrap()),
                host(ga.grad(&grads).unwrap()),
                host(ba.grad(&grads).unwrap()),
            ]
        };
        let (fused, reference) = (run(true), run(false));
        for (i, name) in ["output", "input gradient", "γ gradient", "β gradient"].iter().enumerate() {
            let e = rel_err(&fused[i], &reference[i]);
            assert!(e < 1e-5, "n {n}, {c} channels in {groups} groups, {side}×{side}: {name} off by {e:e}");
            worst[i] = worst[i].max(e);
        }
    }
    eprintln!("worst relative errors (output, dx, dγ, dβ): {worst:?}");
}
