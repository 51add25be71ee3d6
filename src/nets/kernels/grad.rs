//! A convolution's forward pass and both backward products on the blocked layout, for training
//! (burn's autodiff calls them through [`crate::nets::conv_op`]); tensors come and go in NCHW.
//!
//! - The input gradient is a transposed convolution: a stride-1 convolution of the output
//!   gradient, spread out by the stride (zeros between pixels) and padded by `k - 1 - pad`,
//!   with the kernel flipped and its channel axes swapped. The forward kernels of
//!   [`super::conv`] do that work unchanged; at stride 2 three quarters of their
//!   multiply-adds are by zeros (the stride-2 layers are a small part of the U-Net).
//! - The weight gradient is a reduction over images and output pixels: a register tile of `C`
//!   input channels × all `k·k` taps, one output-gradient vector (sixteen output channels) per
//!   pixel broadcast-multiplied by one input value per tile entry, stored once per image; the
//!   bias gradient (the output gradient summed per channel) rides along. Images are split over
//!   the cores, each thread summing into its own buffer.

use super::conv::{Conv, Lanes, Portable};
use super::{Blocked, Fused, Isa, L, Split, isa};
use rayon::prelude::*;

/// A convolution's sizes: a square `k × k` kernel, one stride and one zero padding for both
/// axes, no dilation or groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub n: usize,
    pub ic: usize,
    pub oc: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Geometry {
    /// Output side for an input side.
    fn out_side(&self, side: usize) -> usize {
        (side + 2 * self.pad - self.k) / self.stride + 1
    }

    /// Output height and width.
    pub fn out(&self) -> (usize, usize) {
        (self.out_side(self.h), self.out_side(self.w))
    }

    /// Whether these kernels compute this convolution: 1×1 and 3×3 kernels (the ones with
    /// register tiles), padding below the kernel side (the transposed convolution's own
    /// padding, `k - 1 - pad`, must not be negative), input no smaller than the kernel.
    pub fn supported(&self) -> bool {
        matches!(self.k, 1 | 3)
            && self.stride >= 1
            && self.pad < self.k
            && self.h + 2 * self.pad >= self.k
            && self.w + 2 * self.pad >= self.k
    }
}

/// `conv(x) + bias` for `x` `[n][ic][h][w]`, `weight` `[oc][ic][k][k]`, `bias` `[oc]`.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
    let conv = Conv::new(weight, Some(bias), g.ic, g.oc, g.k, g.stride, 0);
    nchw(&conv.forward(&padded(x, g), true, None, None))
}

/// The gradient with respect to the input, `[n][ic][h][w]`, for the output gradient `dy`
/// `[n][oc][oh][ow]`: `dx[i] = Σ_{o·s + t - pad = i} dy[o]·W[t]` per axis, summed over the
/// output channels.
pub fn input_grad(g: &Geometry, dy: &[f32], weight: &[f32]) -> Vec<f32> {
    let (k, kk) = (g.k, g.k * g.k);
    let (oh, ow) = g.out();
    assert_eq!(dy.len(), g.n * g.oc * oh * ow, "output gradient of the wrong length");
    // [ic][oc][k][k], each kernel turned by 180°
    let mut flipped = vec![0.0; weight.len()];
    for o in 0..g.oc {
        for i in 0..g.ic {
            for t in 0..kk {
                flipped[(i * g.oc + o) * kk + kk - 1 - t] = weight[(o * g.ic + i) * kk + t];
            }
        }
    }
    let conv = Conv::new(&flipped, None, g.oc, g.ic, k, 1, 0);
    // dy at every stride-th pixel from (k-1-pad, k-1-pad) on, in a map whose valid k×k
    // convolution is h×w; the far border also covers the rows and columns the forward's
    // floor division left out
    let before = k - 1 - g.pad;
    let spread = blocked(dy, g.n, g.oc, (oh, ow), (g.h + k - 1, g.w + k - 1), before, g.stride);
    nchw(&conv.forward(&spread, false, None, None))
}

/// The gradients with respect to the weight, `[oc][ic][k][k]`, and the bias, `[oc]`, for the
/// input `x` `[n][ic][h][w]` and the output gradient `dy` `[n][oc][oh][ow]`.
pub fn weight_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (oh, ow) = g.out();
    let kk = g.k * g.k;
    assert_eq!(x.len(), g.n * g.ic * g.h * g.w, "input of the wrong length");
    assert_eq!(dy.len(), g.n * g.oc * oh * ow, "output gradient of the wrong length");
    let xp = padded(x, g);
    let dyb = blocked(dy, g.n, g.oc, (oh, ow), (oh, ow), 0, 1);
    let (xlen, dylen) = (xp.image_len(), dyb.image_len());
    let ocb = g.oc.div_ceil(L);
    // the weight gradient, [oc / L][ic][k][k][L], then the bias gradient, [oc / L][L]
    let wlen = ocb * g.ic * kk * L;
    let len = wlen + ocb * L;
    let isa = isa();
    let packed = (0..g.n)
        .into_par_iter()
        .fold(
            || vec![0f32; len],
            |mut acc, n| {
                let a = Args {
                    x: &xp.data[n * xlen..][..xlen],
                    ph: xp.h,
                    pw: xp.w,
                    dy: &dyb.data[n * dylen..][..dylen],
                    oh,
                    ow,
                    ic: g.ic,
                    k: g.k,
                    s: g.stride,
                    ocb,
                };
                let (dw, db) = acc.split_at_mut(wlen);
                image(isa, &a, dw);
                // per lane, so that it vectorises (one sum per channel would not)
                for (db, dy) in db.chunks_exact_mut(L).zip(a.dy.chunks_exact(oh * ow * L)) {
                    for v in dy.chunks_exact(L) {
                        db.iter_mut().zip(v).for_each(|(b, v)| *b += v);
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0f32; len],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                a
            },
        );
    // [oc / L][ic][k][k][L] → [oc][ic][k][k]
    let mut dw = vec![0.0; g.oc * g.ic * kk];
    for o in 0..g.oc {
        for i in 0..g.ic {
            for t in 0..kk {
                dw[(o * g.ic + i) * kk + t] = packed[((o / L * g.ic + i) * kk + t) * L + o % L];
            }
        }
    }
    (dw, packed[wlen..][..g.oc].to_vec())
}

/// `x` in the blocked layout with a zero border of `pad` pixels.
fn padded(x: &[f32], g: &Geometry) -> Blocked {
    let (p, side) = (g.pad, |s: usize| s + 2 * g.pad);
    blocked(x, g.n, g.ic, (g.h, g.w), (side(g.h), side(g.w)), p, 1)
}

/// `x` `[n][c][h][w]` into a zero map of `ph × pw` blocked pixels, pixel `(y, x)` going to
/// `(before + y·stride, before + x·stride)`: a plain conversion, a zero border, or the spread
/// input of a transposed convolution. Images in parallel (the copies are a sizeable part of
/// a training step).
fn blocked(
    x: &[f32],
    n: usize,
    c: usize,
    (h, w): (usize, usize),
    (ph, pw): (usize, usize),
    before: usize,
    stride: usize,
) -> Blocked {
    assert_eq!(x.len(), n * c * h * w, "NCHW data of the wrong length");
    assert!(before + (h - 1) * stride < ph && before + (w - 1) * stride < pw, "the map holds every pixel");
    let mut out = Blocked::for_overwrite(n, c, ph, pw);
    let img = out.image_len();
    out.data.par_chunks_mut(img).enumerate().for_each(|(b, image)| {
        // cleared here rather than in `Blocked::zeros`: in parallel, and in cache for the copy
        image.fill(0.0);
        for ch in 0..c {
            let (cb, lane) = (ch / L, ch % L);
            let src = &x[(b * c + ch) * h * w..][..h * w];
            for (y, src) in src.chunks_exact(w).enumerate() {
                let row = &mut image[(cb * ph + before + y * stride) * pw * L..][..pw * L];
                for (xi, v) in src.iter().enumerate() {
                    row[(before + xi * stride) * L + lane] = *v;
                }
            }
        }
    });
    out
}

/// A blocked map in NCHW, images in parallel.
fn nchw(b: &Blocked) -> Vec<f32> {
    let (hw, img) = (b.h * b.w, b.image_len());
    let mut out = vec![0.0; b.n * b.c * hw];
    out.par_chunks_mut(b.c * hw).enumerate().for_each(|(n, o)| {
        let src = &b.data[n * img..][..img];
        for (ch, o) in o.chunks_exact_mut(hw).enumerate() {
            let (cb, lane) = (ch / L, ch % L);
            for (p, v) in o.iter_mut().enumerate() {
                *v = src[(cb * hw + p) * L + lane];
            }
        }
    });
    out
}

/// One image's share of the weight gradient.
struct Args<'a> {
    /// The padded input image, `[ic / L][ph][pw][L]`.
    x: &'a [f32],
    ph: usize,
    pw: usize,
    /// The output gradient, `[oc / L][oh][ow][L]`.
    dy: &'a [f32],
    oh: usize,
    ow: usize,
    ic: usize,
    k: usize,
    s: usize,
    ocb: usize,
}

/// Adds one image's weight gradient to `acc` (`[oc / L][ic][k][k][L]`) with the instruction
/// set detected.
fn image(isa: Isa, a: &Args, acc: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` saw AVX-512F and FMA on this CPU.
        Isa::Avx512 => unsafe { x86::avx512(a, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` saw AVX2 and FMA on this CPU.
        Isa::Avx2 => unsafe { x86::avx2(a, acc) },
        // 32 NEON registers of 4 lanes: one 3×3 channel is 36 of them already.
        Isa::Neon => image_tiles::<Portable<Fused>, 1, 4>(a, acc),
        _ => image_tiles::<Portable<Split>, 1, 4>(a, acc),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::conv::x86::{Ymm2, Zmm};
    use super::{Args, image_tiles};

    /// 32 registers: three channels of a 3×3 kernel (27 accumulators), or sixteen of a 1×1.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn avx512(a: &Args, acc: &mut [f32]) {
        image_tiles::<Zmm, 3, 16>(a, acc)
    }

    /// 16 registers, two per vector: one channel of a 3×3 kernel (a few spill), or six of a 1×1.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2(a: &Args, acc: &mut [f32]) {
        image_tiles::<Ymm2, 1, 6>(a, acc)
    }
}

/// Covers the image's channel blocks and input channels with tiles of `C3` (3×3 kernels) or
/// `C1` (1×1) input channels, and single channels for the remainder.
#[inline(always)]
fn image_tiles<V: Lanes, const C3: usize, const C1: usize>(a: &Args, acc: &mut [f32]) {
    match a.k {
        3 => channel_tiles::<V, C3, 3, 9>(a, acc),
        1 => channel_tiles::<V, C1, 1, 1>(a, acc),
        k => unreachable!("Geometry::supported admits 1×1 and 3×3 kernels, not {k}×{k}"),
    }
}

#[inline(always)]
fn channel_tiles<V: Lanes, const C: usize, const K: usize, const KK: usize>(a: &Args, acc: &mut [f32]) {
    for ob in 0..a.ocb {
        let mut i = 0;
        while i < a.ic {
            if a.ic - i >= C {
                tile::<V, C, K, KK>(a, acc, ob, i);
                i += C;
            } else {
                tile::<V, 1, K, KK>(a, acc, ob, i);
                i += 1;
            }
        }
    }
}

/// The weight gradient of output block `ob`, input channels `i0..i0 + C`, all `KK = K·K`
/// taps, summed over the image's output pixels in registers, then added to `acc`.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices address the register tile
fn tile<V: Lanes, const C: usize, const K: usize, const KK: usize>(a: &Args, acc: &mut [f32], ob: usize, i0: usize) {
    let (s, pw) = (a.s, a.pw);
    let plane = a.ph * pw * L;
    // every read and write below stays inside these bounds
    assert!(i0 + C <= a.ic && a.ic.div_ceil(L) * plane <= a.x.len());
    assert!((a.oh - 1) * s + K <= a.ph && (a.ow - 1) * s + K <= pw);
    assert!(a.ocb * a.oh * a.ow * L <= a.dy.len() && ob < a.ocb);
    assert!(((ob * a.ic + i0 + C) * KK) * L <= acc.len());
    let zero = [0f32; L];
    // SAFETY: the asserts above bound every offset: channel `i0 + c` < ic lies in block
    // `(i0 + c) / L` < ic blocks, row `y·s + kh` < ph, column `x·s + kw` < pw; the gradient
    // pixel `(ob, y, x)` lies inside `dy`; the accumulator row `(ob, i0 + c, t)` inside `acc`;
    // `image` only calls this with `V` the CPU has.
    unsafe {
        let mut sum = [[V::load(zero.as_ptr()); KK]; C];
        let bases: [*const f32; C] = std::array::from_fn(|c| a.x.as_ptr().add((i0 + c) / L * plane + (i0 + c) % L));
        let dyp = a.dy.as_ptr().add(ob * a.oh * a.ow * L);
        for y in 0..a.oh {
            for x in 0..a.ow {
                let gv = V::load(dyp.add((y * a.ow + x) * L));
                let at = (y * s * pw + x * s) * L;
                for c in 0..C {
                    let p = bases[c].add(at);
                    for kh in 0..K {
                        for kw in 0..K {
                            let t = kh * K + kw;
                            sum[c][t] = V::madd(*p.add((kh * pw + kw) * L), gv, sum[c][t]);
                        }
                    }
                }
            }
        }
        for c in 0..C {
            for t in 0..KK {
                let p = acc.as_mut_ptr().add(((ob * a.ic + i0 + c) * KK + t) * L);
                V::load(p).add(sum[c][t]).store(p);
            }
        }
    }
}
