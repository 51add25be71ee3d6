//! The CPU inference path for the U-Net: the same network and weights as
//! [`crate::nets::UNet`], run on the hand-written kernels of [`crate::nets::kernels`] instead of
//! burn's operators (several times faster on CPU), with a forward-mode derivative (JVP) for
//! Hutchinson's divergence. burn stays the engine around it: inputs and outputs are burn
//! tensors, and a call with autodiff tensors (score alignment, autodiff divergences) goes to the
//! burn module it was built from, which it keeps.

use crate::nets::kernels::{Blocked, conv::Conv, linear, norm::NormSilu, silu, upsample_concat};
use crate::nets::{Conditioned, UNetConfig};
use crate::sampling::schedule::Path;
use crate::sampling::score::{Predictor, Rows};
use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor, TensorData};

fn floats<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
    p.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 weights")
}

/// A burn `Conv2d` repacked for the kernels.
fn conv(c: &Conv2d) -> Conv {
    let [oc, ic, kh, kw] = c.weight.dims();
    assert_eq!(kh, kw, "square kernels only");
    assert_eq!(c.stride[0], c.stride[1], "one stride for both axes");
    assert_eq!((c.dilation, c.groups), ([1, 1], 1), "no dilation or groups");
    let pad = match c.padding {
        PaddingConfig2d::Valid => 0,
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => t,
        ref p => panic!("unsupported padding {p:?}"),
    };
    let bias = c.bias.as_ref().map(floats);
    Conv::new(&floats(&c.weight), bias.as_deref(), ic, oc, kh, c.stride[0], pad)
}

fn norm(g: &burn::nn::GroupNorm) -> NormSilu {
    let gamma = g.gamma.as_ref().map(floats).unwrap_or_else(|| vec![1.0; g.num_channels]);
    let beta = g.beta.as_ref().map(floats).unwrap_or_else(|| vec![0.0; g.num_channels]);
    NormSilu::new(g.num_channels, g.num_groups, g.epsilon, &gamma, &beta)
}

/// A linear layer, `[i, o]` weights (burn's layout).
struct Dense {
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    i: usize,
    o: usize,
}

impl Dense {
    fn new(l: &burn::nn::Linear) -> Dense {
        let [i, o] = l.weight.dims();
        Dense { w: floats(&l.weight), b: l.bias.as_ref().map(floats), i, o }
    }
    fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        linear(x, rows, &self.w, self.b.as_deref(), self.i, self.o)
    }
}

/// A residual block: `conv2(silu(norm2(conv1(silu(norm1(x))) + emb(silu(e))))) + skip(x)`.
struct Block {
    norm1: NormSilu,
    conv1: Conv,
    emb: Dense,
    norm2: NormSilu,
    conv2: Conv,
    skip: Option<Conv>,
}

/// A value and, in a JVP, its tangent.
struct Dual {
    v: Blocked,
    d: Option<Blocked>,
}

impl Dual {
    fn conv(&self, c: &Conv, extra: Option<&[f32]>, res: Option<&Dual>) -> Dual {
        Dual {
            v: c.forward(&self.v, true, extra, res.map(|r| &r.v)),
            d: self.d.as_ref().map(|d| c.forward(d, false, None, res.and_then(|r| r.d.as_ref()))),
        }
    }
    fn norm_silu(&self, n: &NormSilu) -> Dual {
        match &self.d {
            None => Dual { v: n.forward(&self.v), d: None },
            Some(d) => {
                let (v, d) = n.jvp(&self.v, d);
                Dual { v, d: Some(d) }
            }
        }
    }
    fn upsample_concat(&self, skip: &Dual) -> Dual {
        Dual {
            v: upsample_concat(&self.v, &skip.v),
            d: self.d.as_ref().zip(skip.d.as_ref()).map(|(a, b)| upsample_concat(a, b)),
        }
    }
}

impl Block {
    /// `e`: `silu(emb)`, `[n][emb]`.
    fn forward(&self, x: &Dual, e: &[f32]) -> Dual {
        let n = x.v.n;
        let extra = self.emb.forward(e, n);
        let h = x.norm_silu(&self.norm1).conv(&self.conv1, Some(&extra), None);
        let skip = self.skip.as_ref().map(|s| x.conv(s, None, None));
        h.norm_silu(&self.norm2).conv(&self.conv2, None, Some(skip.as_ref().unwrap_or(x)))
    }
}

/// [`Conditioned`] (a U-Net with its labels and CFG scale) on the host kernels.
pub struct HostUNet {
    /// The burn network and conditioning it was built from: the path for autodiff tensors.
    pub burn: Conditioned,
    time: [Dense; 2],
    /// `[classes + 1][emb]`.
    label: Vec<f32>,
    conv_in: Conv,
    pools: [Conv; 2],
    blocks: Vec<Block>,
    norm_out: NormSilu,
    conv_out: Conv,
}

impl HostUNet {
    pub fn new(burn: Conditioned) -> HostUNet {
        let l = burn.net.layers();
        let blocks = l
            .blocks
            .iter()
            .map(|b| Block {
                norm1: norm(b.norm1),
                conv1: conv(b.conv1),
                emb: Dense::new(b.emb),
                norm2: norm(b.norm2),
                conv2: conv(b.conv2),
                skip: b.skip.map(conv),
            })
            .collect();
        HostUNet {
            time: [Dense::new(l.time[0]), Dense::new(l.time[1])],
            label: floats(&l.label.weight),
            conv_in: conv(l.conv_in),
            pools: [conv(l.pools[0]), conv(l.pools[1])],
            blocks,
            norm_out: norm(l.norm_out),
            conv_out: conv(l.conv_out),
            burn,
        }
    }

    fn config(&self) -> UNetConfig {
        self.burn.config
    }

    /// `silu(emb)` for noise fraction `t` and `labels`, `[n][emb]`: sinusoidal time features
    /// in f32 as `nets::time_features` computes them, two linears, plus the label's embedding.
    fn embedding(&self, t: f32, labels: &[usize]) -> Vec<f32> {
        let e = self.time[0].i;
        let half = e / 2;
        let n = labels.len();
        let mut feats = vec![0f32; n * e];
        for row in feats.chunks_exact_mut(e) {
            for i in 0..half {
                let f = 1000f64.powf(i as f64 / half as f64) as f32;
                let arg = t * std::f64::consts::PI as f32 * f;
                row[i] = arg.sin();
                row[half + i] = arg.cos();
            }
        }
        let mut h = self.time[0].forward(&feats, n);
        h.iter_mut().for_each(|v| *v = silu(*v));
        let mut emb = self.time[1].forward(&h, n);
        for (row, &label) in emb.chunks_exact_mut(e).zip(labels) {
            row.iter_mut().zip(&self.label[label * e..][..e]).for_each(|(v, l)| *v += l);
            row.iter_mut().for_each(|v| *v = silu(*v));
        }
        emb
    }

    /// The velocity (and its tangent along `dx`) for images `x` `[n, C, S, S]` in NCHW.
    pub fn forward(&self, x: &[f32], dx: Option<&[f32]>, t: f32, labels: &[usize]) -> (Vec<f32>, Option<Vec<f32>>) {
        let (n, c, s) = (labels.len(), self.config().colours, self.config().side);
        let e = self.embedding(t, labels);
        let input = Dual { v: Blocked::from_nchw(x, n, c, s, s), d: dx.map(|d| Blocked::from_nchw(d, n, c, s, s)) };
        let (down, rest) = self.blocks.split_at(2);
        let (mids, up) = rest.split_at(rest.len() - 2);
        let h1 = down[0].forward(&input.conv(&self.conv_in, None, None), &e);
        let h2 = down[1].forward(&h1.conv(&self.pools[0], None, None), &e);
        let m = mids.iter().fold(h2.conv(&self.pools[1], None, None), |m, block| block.forward(&m, &e));
        let u2 = up[0].forward(&m.upsample_concat(&h2), &e);
        let u1 = up[1].forward(&u2.upsample_concat(&h1), &e);
        let out = u1.norm_silu(&self.norm_out).conv(&self.conv_out, None, None);
        (out.v.to_nchw(), out.d.map(|d| d.to_nchw()))
    }

    /// The conditioned velocity and its tangent along `dx` (rows of `[b, C·S·S]` laid out as
    /// `rows` says), with CFG.
    fn velocity(
        &self,
        x: &[f32],
        dx: Option<&[f32]>,
        b: usize,
        lambda: f64,
        rows: Rows,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let t = Path::Linear.sigma(lambda) as f32;
        let labels = |null| self.burn.label_ids(b, null, rows);
        let unconditional = self.burn.labels.is_empty();
        if unconditional || self.burn.cfg == 1.0 {
            return self.forward(x, dx, t, &labels(unconditional));
        }
        // one pass over [class; null], as Conditioned does
        let twice = |v: &[f32]| [v, v].concat();
        let labels = [labels(false), labels(true)].concat();
        let (both, dboth) = self.forward(&twice(x), dx.map(twice).as_deref(), t, &labels);
        let w = self.burn.cfg as f32;
        let guide = |v: &[f32]| {
            let (cond, null) = v.split_at(v.len() / 2);
            cond.iter().zip(null).map(|(c, n)| n + (c - n) * w).collect::<Vec<f32>>()
        };
        (guide(&both), dboth.as_deref().map(guide))
    }
}

/// A `[b, d]` tensor's values as f32.
fn host(x: Tensor<2>) -> Vec<f32> {
    x.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 data")
}

fn tensor(v: Vec<f32>, b: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v, [b, d]), device)
}

impl Predictor for HostUNet {
    fn dim(&self) -> usize {
        self.burn.dim()
    }
    fn flops(&self) -> f64 {
        self.burn.flops()
    }
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2> {
        if x.is_autodiff() {
            return self.burn.predict_rows(x, lambda, rows);
        }
        let ([b, d], device) = (x.dims(), x.device());
        let (v, _) = self.velocity(&host(x), None, b, lambda, rows);
        tensor(v, b, d, &device)
    }
    fn predict_jvp(&self, x: Tensor<2>, lambda: f64, dx: Tensor<2>, rows: Rows) -> Option<(Tensor<2>, Tensor<2>)> {
        if x.is_autodiff() || dx.is_autodiff() {
            return None;
        }
        let ([b, d], device) = (x.dims(), x.device());
        let (v, dv) = self.velocity(&host(x), Some(&host(dx)), b, lambda, rows);
        Some((tensor(v, b, d, &device), tensor(dv.expect("tangent asked for"), b, d, &device)))
    }
}
