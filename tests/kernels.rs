//! The host kernels (src/kernels) and the host U-Net (src/host_net) against burn flex in f32:
//! convolutions over random shapes, group norm + SiLU, the whole network on the shipped
//! Fashion-MNIST weights, and the forward-mode derivative against burn's autodiff.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::activation::silu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use dg::nets::host::HostUNet;
use dg::nets::kernels::conv::Conv;
use dg::nets::kernels::norm::NormSilu;
use dg::nets::kernels::{Blocked, available, upsample_concat, with_isa};
use dg::nets::{Conditioned, Net, score_model};
use dg::nets::{Conditioning, conditioned};
use dg::sampling::density::{Divergence, score_and_laplacian};
use dg::sampling::device::{Precision, cpu};
use dg::sampling::rng::{BatchRng, tensor2};
use dg::sampling::score::{Predictor, Rows, ScoreModel};

use common::draws::{Rng, host, rel_err};

fn device() -> Device {
    cpu(Precision::F32).unwrap()
}

fn t4(v: Vec<f32>, shape: [usize; 4], d: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(v, shape), d)
}

fn t1(v: Vec<f32>, d: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), d)
}

#[test]
fn convolutions_match_flex_over_random_shapes() {
    for &isa in available() {
        with_isa(isa, || random_convolutions(&format!("{isa:?}")));
    }
}

fn random_convolutions(isa: &str) {
    let d = device();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst = 0f64;
    let mut cases = 0;
    while cases < 40 {
        // one case in four with the few output channels that run as dot products
        let (ic, oc) = (rng.range(1, 64), if rng.below(4) == 0 { rng.range(1, 4) } else { rng.range(1, 64) });
        let (h, w) = (rng.range(5, 33), rng.range(5, 33));
        let k = if rng.below(4) == 0 { 1 } else { 3 };
        let stride = rng.range(1, 2);
        let pad = if k == 1 { 0 } else { rng.below(2) };
        let n = rng.range(1, 128);
        let (oh, ow) = ((h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1);
        // keep each case to a few tens of millions of multiply-adds (debug build)
        if n * ic * oc * oh * ow * k * k > 40_000_000 {
            continue;
        }
        cases += 1;
        let x = rng.vec(n * ic * h * w);
        let wt = rng.vec(oc * ic * k * k);
        let bias = rng.vec(oc);
        let extra = rng.vec(n * oc);
        let res = rng.vec(n * oc * oh * ow);
        let conv = Conv::new(&wt, Some(&bias), ic, oc, k, stride, pad);
        let xb = Blocked::from_nchw(&x, n, ic, h, w);
        let opts = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        let reference = conv2d(t4(x.clone(), [n, ic, h, w], &d), t4(wt.clone(), [oc, ic, k, k], &d), None, opts);
        // plain (no bias), as tangents use it
        let plain = conv.forward(&xb, false, None, None);
        assert_eq!((plain.n, plain.c, plain.h, plain.w), (n, oc, oh, ow));
        let e_plain = rel_err(&plain.to_nchw(), &host(reference.clone()));
        // bias + per-image extra + residual, fused
        let expect = reference
            + t1(bias.clone(), &d).reshape([1, oc, 1, 1])
            + Tensor::<2>::from_data(TensorData::new(extra.clone(), [n, oc]), &d).reshape([n, oc, 1, 1])
            + t4(res.clone(), [n, oc, oh, ow], &d);
        let fused = conv.forward(&xb, true, Some(&extra), Some(&Blocked::from_nchw(&res, n, oc, oh, ow)));
        let e_fused = rel_err(&fused.to_nchw(), &host(expect));
        let case = format!("{isa}: n {n} ic {ic} oc {oc} {h}x{w} k {k} stride {stride} pad {pad}");
        assert!(e_plain < 1e-5, "{case}: relative error {e_plain:e} without bias");
        assert!(e_fused < 1e-5, "{case}: relative error {e_fused:e} with bias, extra and residual");
        worst = worst.max(e_plain).max(e_fused);
    }
    println!("{cases} random convolutions on {isa}: worst relative error {worst:e} (bound 1e-5)");
}

#[test]
fn group_norm_silu_and_its_jvp_match_flex() {
    for &isa in available() {
        with_isa(isa, || group_norm_silu(&format!("{isa:?}")));
    }
}

fn group_norm_silu(isa: &str) {
    let d = device();
    let mut rng = Rng(7);
    for (n, c, groups, side) in [(3, 16, 8, 28), (2, 48, 8, 14), (4, 20, 4, 7), (1, 64, 8, 9)] {
        let x: Vec<f32> = rng.vec(n * c * side * side).iter().map(|v| 3.0 * v + 0.5).collect();
        let dx = rng.vec(n * c * side * side);
        let (gamma, beta) = (rng.vec(c), rng.vec(c));
        let ns = NormSilu::new(c, groups, 1e-5, &gamma, &beta);
        let mut gn = burn::nn::GroupNormConfig::new(groups, c).init(&d);
        gn.gamma = Some(burn::module::Param::from_tensor(t1(gamma.clone(), &d)));
        gn.beta = Some(burn::module::Param::from_tensor(t1(beta.clone(), &d)));
        let shape = [n, c, side, side];
        let xb = Blocked::from_nchw(&x, n, c, side, side);
        let expect = host(silu(gn.forward(t4(x.clone(), shape, &d))));
        let e = rel_err(&ns.forward(&xb).to_nchw(), &expect);
        assert!(e < 1e-5, "{isa} {n}x{c}x{side}: relative error {e:e}");
        // the JVP against autodiff: Σ dy·w through burn equals w-weighted (∂y/∂x)dx summed
        let (y, dy) = ns.jvp(&xb, &Blocked::from_nchw(&dx, n, c, side, side));
        assert!(rel_err(&y.to_nchw(), &expect) < 1e-5);
        let wts = rng.vec(n * c * side * side);
        let xa = t4(x.clone(), shape, &d).autodiff().require_grad();
        let out = silu(gn.forward(xa.clone()));
        let grads = (out * t4(wts.clone(), shape, &d)).sum().backward();
        let g = host(xa.grad(&grads).unwrap());
        let autodiff: f64 = g.iter().zip(&dx).map(|(a, b)| f64::from(a * b)).sum();
        let forward: f64 = dy.to_nchw().iter().zip(&wts).map(|(a, b)| f64::from(a * b)).sum();
        let scale: f64 = g.iter().zip(&dx).map(|(a, b)| f64::from((a * b).abs())).sum();
        assert!((autodiff - forward).abs() < 1e-5 * scale, "{isa} {n}x{c}x{side}: wᵀJdx {forward} vs {autodiff}");
    }
}

#[test]
fn upsample_concat_matches_flex() {
    let d = device();
    let mut rng = Rng(11);
    for (ca, cb) in [(32, 32), (32, 16), (5, 7)] {
        let (n, s) = (2, 7);
        let a = rng.vec(n * ca * s * s);
        let b = rng.vec(n * cb * 4 * s * s);
        let got = upsample_concat(&Blocked::from_nchw(&a, n, ca, s, s), &Blocked::from_nchw(&b, n, cb, 2 * s, 2 * s));
        let up = t4(a, [n, ca, s, s], &d).reshape([n, ca, s, 1, s, 1]).expand([n, ca, s, 2, s, 2]).reshape([
            n,
            ca,
            2 * s,
            2 * s,
        ]);
        let expect = Tensor::cat(vec![up, t4(b, [n, cb, 2 * s, 2 * s], &d)], 1);
        assert_eq!(got.to_nchw(), host(expect));
    }
}

/// The shipped Fashion-MNIST U-Net, conditioned on classes 0..9 in turn with CFG scale `cfg`
/// (CFG ≠ 1: one pass over the batch twice, class and null label).
fn fashion(d: &Device, cfg: f64) -> Conditioned {
    let path = format!("{}/models/fashion.safetensors", env!("CARGO_MANIFEST_DIR"));
    let Net::UNet(net, config) = Net::from_bytes(std::fs::read(&path).unwrap(), &path, d).unwrap() else {
        panic!("fashion is a U-Net")
    };
    conditioned(net, config, &Conditioning { classes: vec![3, 1, 4, 1, 5, 9, 2, 6], cfg, ..Default::default() })
}

fn normal(rng: &mut Rng, b: usize, dim: usize, d: &Device) -> Tensor<2> {
    // sums of uniforms: roughly N(0, 1), enough to exercise the network at noise level
    let v: Vec<f32> = (0..b * dim).map(|_| (0..4).map(|_| rng.uniform()).sum::<f32>() * 0.87).collect();
    Tensor::from_data(TensorData::new(v, [b, dim]), d)
}

#[test]
fn host_unet_matches_burn_on_the_shipped_weights() {
    let d = device();
    // burn's module runs its convolutions and SiLUs on these kernels too (src/conv_op.rs), but
    // its group norm, embeddings, upsampling and layout are its own; tests/conv_train.rs
    // compares the host U-Net with flex's own operators throughout
    let mut rng = Rng(3);
    for cfg in [1.0, 2.0] {
        let host_net = HostUNet::new(fashion(&d, cfg));
        for (b, lambda) in [(5, -3.0), (8, 0.0), (3, 4.0)] {
            let x = normal(&mut rng, b, 784, &d).mul_scalar(1.0 + f64::exp(-lambda).sqrt());
            let expect = host(host_net.burn.predict(x.clone(), lambda));
            for &isa in available() {
                let got = with_isa(isa, || host(host_net.predict(x.clone(), lambda)));
                let e = rel_err(&got, &expect);
                println!("U-Net on {isa:?}, cfg {cfg}, batch {b}, λ {lambda}: relative error {e:e}");
                // f32 through 21 layers with different summation orders (and a polynomial exp)
                assert!(e < 2e-5, "{isa:?} cfg {cfg} batch {b} λ {lambda}: relative error {e:e}");
            }
        }
    }
}

/// A wider, deeper lowest level (`bottom`, `mid_blocks`) survives a weights file and runs the
/// same on the host kernels as in burn's module; the untrained weights exercise every layer.
#[test]
fn a_deeper_bottom_saves_loads_and_matches_burn() {
    use dg::nets::{Arch, UNetConfig};
    let d = device();
    let config = UNetConfig { channels: 8, bottom: Some(24), mid_blocks: 3, ..Default::default() };
    let path = std::env::temp_dir().join(format!("dg-deep-bottom-{}.safetensors", std::process::id()));
    let path = path.to_str().unwrap();
    Net::init(&Arch::UNet(config), &d).save(path, false).unwrap();
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    let Net::UNet(net, loaded) = Net::from_bytes(bytes, path, &d).unwrap() else { panic!("a U-Net") };
    assert_eq!(loaded, config);
    // the three lowest blocks and the wider pool and up2 all hold parameters
    let params = burn::module::Module::num_params(&net);
    let shallow = burn::module::Module::num_params(&UNetConfig { channels: 8, ..Default::default() }.init(&d));
    assert!(params > shallow, "{params} parameters against {shallow} with the default bottom");
    let cond = Conditioning { classes: vec![3, 1, 4], cfg: 2.0, ..Default::default() };
    let host_net = HostUNet::new(conditioned(net, config, &cond));
    let mut rng = Rng(11);
    for (b, lambda) in [(5, -3.0), (3, 2.0)] {
        let x = normal(&mut rng, b, 784, &d);
        let expect = host(host_net.burn.predict(x.clone(), lambda));
        let got = host(host_net.predict(x, lambda));
        let e = rel_err(&got, &expect);
        println!("deep bottom, batch {b}, λ {lambda}: relative error {e:e}");
        assert!(e < 2e-5, "batch {b} λ {lambda}: relative error {e:e}");
    }
}

#[test]
fn host_jvp_matches_autodiff_and_a_central_difference() {
    let d = device();
    let mut rng = Rng(5);
    let host_net = HostUNet::new(fashion(&d, 2.0));
    let (b, lambda) = (4, -1.0);
    let x = normal(&mut rng, b, 784, &d);
    let z = normal(&mut rng, b, 784, &d);
    let (v, dv) = host_net.predict_jvp(x.clone(), lambda, z.clone(), Rows::RUN).unwrap();
    assert!(rel_err(&host(v), &host(host_net.burn.predict(x.clone(), lambda))) < 2e-5);
    // zᵀ(J z) per row equals (zᵀJ) z from burn's reverse mode
    let xa = x.clone().autodiff().require_grad();
    let grads = (host_net.burn.predict(xa.clone(), lambda) * z.clone()).sum().backward();
    let vjp = xa.grad(&grads).unwrap();
    let quad = |t: Tensor<2>| host((t * z.clone()).sum_dim(1).reshape([b]));
    let (fwd, rev) = (quad(dv.clone()), quad(vjp));
    println!("zᵀJz forward {fwd:?} reverse {rev:?}");
    assert!(rel_err(&fwd, &rev) < 1e-4, "zᵀJz: forward {fwd:?} vs reverse {rev:?}");
    // J z itself against a central difference (f32: step 1e-2 along z/|z|, loose bound)
    let h = 1e-2;
    let norm = z.clone().square().sum_dim(1).sqrt();
    let dir = z.clone() / norm.clone();
    let plus = host_net.predict(x.clone() + dir.clone().mul_scalar(h), lambda);
    let minus = host_net.predict(x - dir.mul_scalar(h), lambda);
    let fd = host((plus - minus).mul_scalar(0.5 / h) * norm);
    let e = rel_err(&host(dv), &fd);
    println!("Jz against a central difference: relative error {e:e}");
    assert!(e < 1e-2, "Jz vs central difference: relative error {e:e}");
}

#[test]
fn score_jvp_matches_autodiff_of_the_score() {
    let d = device();
    let host_model = score_model(HostUNet::new(fashion(&d, 1.0)));
    let burn_model = score_model(fashion(&d, 1.0));
    let mut rng = Rng(9);
    let (b, lambda) = (6, 0.5);
    let x = normal(&mut rng, b, 784, &d);
    let z = normal(&mut rng, b, 784, &d);
    assert!(burn_model.score_and_jvp(x.clone(), lambda, z.clone(), Rows::RUN).is_none(), "burn's path has no JVP");
    let (s, jz) = host_model.score_and_jvp(x.clone(), lambda, z.clone(), Rows::RUN).expect("the host model has a JVP");
    assert!(rel_err(&host(s), &host(burn_model.score(x.clone(), lambda))) < 2e-5);
    // the estimate Hutchinson needs, zᵀ(∂s/∂x)z, from both modes
    let xa = x.autodiff().require_grad();
    let grads = (burn_model.score(xa.clone(), lambda) * z.clone()).sum().backward();
    let vjp = xa.grad(&grads).unwrap();
    let quad = |t: Tensor<2>| host((t * z.clone()).sum_dim(1).reshape([b]));
    let (fwd, rev) = (quad(jz), quad(vjp));
    println!("score: zᵀJz forward {fwd:?} reverse {rev:?}");
    assert!(rel_err(&fwd, &rev) < 1e-4, "zᵀJz: {fwd:?} vs {rev:?}");
    // autodiff inputs go to burn's module, which differentiates
    let xa = normal(&mut rng, 2, 784, &d).autodiff().require_grad();
    let grads = host_model.score(xa.clone(), lambda).sum().backward();
    assert!(xa.grad(&grads).is_some(), "the host model falls back to burn for autodiff inputs");
}

/// Hutchinson with several probes evaluates the batch repeated once per probe: every copy of a
/// sample must keep that sample's class label (labels cycle over samples, not rows). The
/// estimate must equal the mean over probes of `zᵀ(∂s/∂x)z`, each from the plain batch.
#[test]
fn probe_copies_keep_their_samples_labels() {
    let d = device();
    let mut rng = Rng(11);
    // every class in turn from sample 2 on; 3 samples, so copies do not line up with the cycle
    let cond = Conditioning { first: 2, ..Default::default() };
    let path = format!("{}/models/fashion.safetensors", env!("CARGO_MANIFEST_DIR"));
    let Net::UNet(net, config) = Net::from_bytes(std::fs::read(&path).unwrap(), &path, &d).unwrap() else {
        panic!("fashion is a U-Net")
    };
    let burn_model = score_model(conditioned(net, config, &cond));
    let host_model = score_model(HostUNet::new(conditioned(burn_model.net.net.clone(), config, &cond)));
    let (b, m, lambda) = (3, 4, 0.5);
    let x = normal(&mut rng, b, 784, &d);
    let z = BatchRng::new(7, 0, b).rademacher(m, 0, b, 784);
    let mut expect = vec![0f32; b];
    for probe in z.chunks(b * 784) {
        let zj = tensor2(probe.to_vec(), b, 784, &d);
        let xa = x.clone().autodiff().require_grad();
        let grads = (burn_model.score(xa.clone(), lambda) * zj.clone()).sum().backward();
        let quad = host((xa.grad(&grads).unwrap() * zj).sum_dim(1).reshape([b]));
        expect.iter_mut().zip(quad).for_each(|(e, q)| *e += q / m as f32);
    }
    for (name, model) in [("burn", &burn_model as &dyn ScoreModel), ("host", &host_model)] {
        let div = Divergence::Hutchinson { probes: m };
        let (_, lap) = score_and_laplacian(model, &x, lambda, div, &mut BatchRng::new(7, 0, b));
        let got = host(lap.unwrap().reshape([1, b]));
        let e = rel_err(&got, &expect);
        println!("{name}: {m} probes {got:?}, per-probe mean {expect:?}: relative error {e:e}");
        assert!(e < 1e-4, "{name}: {got:?} vs {expect:?}");
    }
}
