//! Direct 2-D convolution (any square kernel, stride, zero padding) on the blocked layout:
//! no im2col copy. Each call computes a register tile of `T` output pixels × one or two blocks
//! of sixteen output channels: per input channel and tap, one weight vector per block and one
//! broadcast input value per pixel feed `T × blocks` fused multiply-adds, so the accumulators
//! stay in registers for the whole reduction. Bias (per image, so the U-Net's embedding add
//! rides along) and a residual add are fused into the store.

use super::{Blocked, Fused, Isa, L, Madd, Split, for_each_image, isa};
use std::cell::RefCell;

/// A convolution's weights, packed for the kernels: `[oc / L][ic][k][k][L]`.
#[derive(Clone, Debug)]
pub struct Conv {
    pub ic: usize,
    pub oc: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    w: Vec<f32>,
    /// `[oc / L · L]`, zero beyond `oc`.
    bias: Vec<f32>,
    /// For at most [`DOT_OC`] output channels, the weights again as `[oc][ic / L][k][k][L]`
    /// (input channels in the lanes, zero beyond `ic`), for [`dot_image`].
    dot: Option<Vec<f32>>,
}

/// Output channels up to which a convolution runs as dot products over input-channel lanes
/// ([`dot_image`]): the register tiles would compute a whole block of sixteen output channels,
/// all but these few of them zero (the U-Net's last layer has one).
const DOT_OC: usize = 4;

/// One image's work, as the kernels see it.
struct Args<'a> {
    /// The (padded) input image, `[ic / L][ph][pw][L]`.
    x: &'a [f32],
    ph: usize,
    pw: usize,
    w: &'a [f32],
    /// `[oc / L · L]`.
    bias: &'a [f32],
    /// [`Conv::dot`].
    dot: Option<&'a [f32]>,
    res: Option<&'a [f32]>,
    out: &'a mut [f32],
    ic: usize,
    k: usize,
    s: usize,
    oh: usize,
    ow: usize,
    ocb: usize,
}

thread_local! {
    /// The padded copy of an input image, kept between calls.
    static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl Conv {
    /// From burn's layout: `weight` `[oc][ic][k][k]`, `bias` `[oc]`.
    pub fn new(
        weight: &[f32],
        bias: Option<&[f32]>,
        ic: usize,
        oc: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Conv {
        assert_eq!(weight.len(), oc * ic * k * k, "conv weight of the wrong length");
        assert!(stride >= 1 && k >= 1);
        let ocb = oc.div_ceil(L);
        let mut w = vec![0.0; ocb * ic * k * k * L];
        for o in 0..oc {
            for i in 0..ic {
                for t in 0..k * k {
                    w[((o / L * ic + i) * k * k + t) * L + o % L] = weight[(o * ic + i) * k * k + t];
                }
            }
        }
        let mut b = vec![0.0; ocb * L];
        if let Some(bias) = bias {
            assert_eq!(bias.len(), oc);
            b[..oc].copy_from_slice(bias);
        }
        let dot = (oc <= DOT_OC).then(|| {
            let icb = ic.div_ceil(L);
            let mut d = vec![0.0; oc * icb * k * k * L];
            for o in 0..oc {
                for i in 0..ic {
                    for t in 0..k * k {
                        d[((o * icb + i / L) * k * k + t) * L + i % L] = weight[(o * ic + i) * k * k + t];
                    }
                }
            }
            d
        });
        Conv { ic, oc, k, stride, pad, w, bias: b, dot }
    }

    /// Output side for an input side.
    pub fn out_side(&self, side: usize) -> usize {
        assert!(side + 2 * self.pad >= self.k, "input smaller than the kernel");
        (side + 2 * self.pad - self.k) / self.stride + 1
    }

    /// `conv(x) + bias + extra[n] + residual`. `with_bias: false` drops the bias (and
    /// `extra`), for tangents; `extra` is `[n][oc]`, an addition per image and channel;
    /// `residual` has the output's shape.
    pub fn forward(&self, x: &Blocked, with_bias: bool, extra: Option<&[f32]>, residual: Option<&Blocked>) -> Blocked {
        assert_eq!(x.c, self.ic, "input channels");
        let (oh, ow) = (self.out_side(x.h), self.out_side(x.w));
        let mut out = Blocked::for_overwrite(x.n, self.oc, oh, ow);
        if let Some(r) = residual {
            assert_eq!((r.n, r.c, r.h, r.w), (out.n, out.c, out.h, out.w), "residual shape");
        }
        let ocp = self.oc.div_ceil(L) * L;
        let zero = vec![0.0; ocp];
        let biases: Option<Vec<f32>> = match (with_bias, extra) {
            (true, Some(e)) => {
                assert_eq!(e.len(), x.n * self.oc, "extra bias is [n][oc]");
                let mut v = Vec::with_capacity(x.n * ocp);
                for n in 0..x.n {
                    v.extend(
                        self.bias
                            .iter()
                            .enumerate()
                            .map(|(o, b)| b + if o < self.oc { e[n * self.oc + o] } else { 0.0 }),
                    );
                }
                Some(v)
            }
            _ => None,
        };
        let (in_len, out_len) = (x.image_len(), out.image_len());
        let (ph, pw) = (x.h + 2 * self.pad, x.w + 2 * self.pad);
        let isa = isa();
        for_each_image(&mut out.data, out_len, |n, o| {
            let bias = match (&biases, with_bias) {
                (Some(v), _) => &v[n * ocp..][..ocp],
                (None, true) => &self.bias[..],
                (None, false) => &zero[..],
            };
            let res = residual.map(|r| &r.data[n * out_len..][..out_len]);
            let img = &x.data[n * in_len..][..in_len];
            let mut run = |xp: &[f32]| {
                let mut a = Args {
                    x: xp,
                    ph,
                    pw,
                    w: &self.w,
                    bias,
                    dot: self.dot.as_deref(),
                    res,
                    out: o,
                    ic: self.ic,
                    k: self.k,
                    s: self.stride,
                    oh,
                    ow,
                    ocb: ocp / L,
                };
                image(isa, &mut a);
            };
            if self.pad == 0 {
                run(img);
            } else {
                PADDED.with_borrow_mut(|buf| {
                    pad_image(img, x.blocks(), x.h, x.w, self.pad, buf);
                    run(buf);
                });
            }
        });
        out
    }
}

/// Copies one image into `buf` with a zero border of `pad` pixels (only the border is
/// cleared: the rest is overwritten).
fn pad_image(img: &[f32], cb: usize, h: usize, w: usize, pad: usize, buf: &mut Vec<f32>) {
    let (ph, pw) = (h + 2 * pad, w + 2 * pad);
    buf.resize(cb * ph * pw * L, 0.0);
    for c in 0..cb {
        let dst = &mut buf[c * ph * pw * L..][..ph * pw * L];
        dst[..pad * pw * L].fill(0.0);
        dst[(pad + h) * pw * L..].fill(0.0);
        for y in 0..h {
            let row = &mut dst[(pad + y) * pw * L..][..pw * L];
            row[..pad * L].fill(0.0);
            row[(pad + w) * L..].fill(0.0);
            row[pad * L..(pad + w) * L].copy_from_slice(&img[(c * h + y) * w * L..][..w * L]);
        }
    }
}

/// One image on the instruction set detected: the same source compiled per target.
fn image(isa: Isa, a: &mut Args) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available()` saw AVX-512F and FMA on this CPU.
        Isa::Avx512 => unsafe { x86::avx512(a) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available()` saw AVX2 and FMA on this CPU.
        Isa::Avx2 => unsafe { x86::avx2(a) },
        // aarch64 always has NEON with fused multiply-add: 32 registers of 4 lanes.
        Isa::Neon => image_tiles::<Portable<Fused>, 6, 3>(a),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128 => image_tiles::<wasm::Simd128, 2, 0>(a),
        _ => image_tiles::<Portable<Split>, 4, 0>(a),
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::{Args, Lanes, image_tiles};
    use std::arch::x86_64::*;

    /// One AVX-512 register.
    #[derive(Clone, Copy)]
    pub(crate) struct Zmm(__m512);

    impl Lanes for Zmm {
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller's
            Zmm(unsafe { _mm512_loadu_ps(p) })
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller's
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
        #[inline(always)]
        unsafe fn madd(x: f32, w: Self, acc: Self) -> Self {
            // SAFETY: the caller's
            Zmm(unsafe { _mm512_fmadd_ps(_mm512_set1_ps(x), w.0, acc.0) })
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            // SAFETY: the caller's
            Zmm(unsafe { _mm512_add_ps(self.0, other.0) })
        }
        #[inline(always)]
        unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
            // SAFETY: the caller's
            Zmm(unsafe { _mm512_fmadd_ps(self.0, w.0, acc.0) })
        }
    }

    /// Two AVX2 registers.
    #[derive(Clone, Copy)]
    pub(crate) struct Ymm2(__m256, __m256);

    impl Lanes for Ymm2 {
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller's
            unsafe { Ymm2(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller's
            unsafe {
                _mm256_storeu_ps(p, self.0);
                _mm256_storeu_ps(p.add(8), self.1);
            }
        }
        #[inline(always)]
        unsafe fn madd(x: f32, w: Self, acc: Self) -> Self {
            // SAFETY: the caller's
            unsafe {
                let x = _mm256_set1_ps(x);
                Ymm2(_mm256_fmadd_ps(x, w.0, acc.0), _mm256_fmadd_ps(x, w.1, acc.1))
            }
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            // SAFETY: the caller's
            unsafe { Ymm2(_mm256_add_ps(self.0, other.0), _mm256_add_ps(self.1, other.1)) }
        }
        #[inline(always)]
        unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
            // SAFETY: the caller's
            unsafe { Ymm2(_mm256_fmadd_ps(self.0, w.0, acc.0), _mm256_fmadd_ps(self.1, w.1, acc.1)) }
        }
    }

    /// 32 registers of 16 lanes: tiles of up to 14 pixels × 2 blocks (28 accumulators).
    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn avx512(a: &mut Args) {
        image_tiles::<Zmm, 14, 14>(a)
    }

    /// 16 registers of 8 lanes (two per block): 6 pixels × 1 block or 3 × 2 (12 accumulators).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2(a: &mut Args) {
        image_tiles::<Ymm2, 6, 3>(a)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// Four SIMD128 registers. No FMA in plain SIMD128 (relaxed-simd's is not everywhere):
    /// a multiply and an add. Tiles of 2 pixels × 1 block: 8 accumulators, 4 weights and
    /// 2 broadcasts fit the 16 registers engines have on x86 (3 pixels spilled, in V8).
    #[derive(Clone, Copy)]
    pub(super) struct Simd128([v128; 4]);

    impl Lanes for Simd128 {
        /// Unrolled, LLVM hoists the nine taps' loads ahead of the arithmetic and the engine
        /// (16 registers on x86) spills them: 2.1 against 1.7 ms for a 16→16 3×3 layer at
        /// 28×28, batch 16, in V8.
        const UNROLL_TAPS: bool = false;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller's
            unsafe { Simd128(core::array::from_fn(|i| v128_load(p.add(4 * i) as *const v128))) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            for (i, v) in self.0.into_iter().enumerate() {
                // SAFETY: the caller's
                unsafe { v128_store(p.add(4 * i) as *mut v128, v) }
            }
        }
        #[inline(always)]
        unsafe fn madd(x: f32, w: Self, acc: Self) -> Self {
            let x = f32x4_splat(x);
            Simd128(core::array::from_fn(|i| f32x4_add(acc.0[i], f32x4_mul(x, w.0[i]))))
        }
        #[inline(always)]
        unsafe fn add(self, other: Self) -> Self {
            Simd128(core::array::from_fn(|i| f32x4_add(self.0[i], other.0[i])))
        }
        #[inline(always)]
        unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
            Simd128(core::array::from_fn(|i| f32x4_add(acc.0[i], f32x4_mul(self.0[i], w.0[i]))))
        }
    }
}

/// Covers the image's output with tiles: pairs of channel blocks with up to `T2` pixels
/// (none when `T2` is 0), then single blocks with up to `T1`.
/// The kernel side is a constant for 3×3 (where [`Lanes::UNROLL_TAPS`]) and 1×1 (fully
/// unrolled taps), `K = 0` any other.
#[inline(always)]
fn image_tiles<V: Lanes, const T1: usize, const T2: usize>(a: &mut Args) {
    if let Some(wd) = a.dot {
        return dot_image::<V>(a, wd);
    }
    match a.k {
        3 if V::UNROLL_TAPS => image_tiles_k::<V, T1, T2, 3>(a),
        1 => image_tiles_k::<V, T1, T2, 1>(a),
        _ => image_tiles_k::<V, T1, T2, 0>(a),
    }
}

#[inline(always)]
fn image_tiles_k<V: Lanes, const T1: usize, const T2: usize, const K: usize>(a: &mut Args) {
    let mut ob = 0;
    while ob < a.ocb {
        if T2 > 0 && a.ocb - ob >= 2 {
            rows::<V, 2, T2, K>(a, ob);
            ob += 2;
        } else {
            rows::<V, 1, T1, K>(a, ob);
            ob += 1;
        }
    }
}

/// Every output row of `B` channel blocks. Rows of 7 pixels (the 7 × 7 level of a 28 × 28
/// U-Net) go two at a time where a tile holds 14 pixels: one row would fill half the register
/// tile, and each weight load would feed 7 pixels instead of 14.
#[inline(always)]
fn rows<V: Lanes, const B: usize, const TMAX: usize, const K: usize>(a: &mut Args, ob: usize) {
    let mut oh = 0;
    if TMAX >= 14 && a.ow == 7 {
        while oh + 2 <= a.oh {
            tile::<V, B, 7, 2, K>(a, ob, oh, 0);
            oh += 2;
        }
    }
    for oh in oh..a.oh {
        row::<V, B, TMAX, K>(a, ob, oh);
    }
}

/// One output row of `B` channel blocks, in tiles of at most `TMAX` pixels.
#[inline(always)]
fn row<V: Lanes, const B: usize, const TMAX: usize, const K: usize>(a: &mut Args, ob: usize, oh: usize) {
    let mut ow = 0;
    while ow < a.ow {
        let left = a.ow - ow;
        let t = [14, 7, 6, 4, 3, 2].into_iter().find(|&t| t <= TMAX && t <= left).unwrap_or(1);
        match t {
            14 => tile::<V, B, 14, 1, K>(a, ob, oh, ow),
            7 => tile::<V, B, 7, 1, K>(a, ob, oh, ow),
            6 => tile::<V, B, 6, 1, K>(a, ob, oh, ow),
            4 => tile::<V, B, 4, 1, K>(a, ob, oh, ow),
            3 => tile::<V, B, 3, 1, K>(a, ob, oh, ow),
            2 => tile::<V, B, 2, 1, K>(a, ob, oh, ow),
            _ => tile::<V, B, 1, 1, K>(a, ob, oh, ow),
        }
        ow += t;
    }
}

/// Sixteen f32 lanes (one output pixel's channel block) in the registers of one instruction
/// set. Methods are `#[inline(always)]` so that they compile inside the `#[target_feature]`
/// wrapper they are called from.
pub(crate) trait Lanes: Copy {
    /// Whether a 3×3 kernel's nine taps may be unrolled at compile time.
    const UNROLL_TAPS: bool = true;
    /// Sixteen floats from `p`.
    ///
    /// # Safety
    /// `p` must be valid for sixteen reads, and the CPU must have the instruction set.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` must be valid for sixteen writes, and the CPU must have the instruction set.
    unsafe fn store(self, p: *mut f32);
    /// `acc + x·w` with `x` broadcast.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn madd(x: f32, w: Self, acc: Self) -> Self;
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn add(self, other: Self) -> Self;
    /// `acc + self·w`, lane by lane.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    unsafe fn mul_add(self, w: Self, acc: Self) -> Self;
    /// The sum of the lanes.
    ///
    /// # Safety
    /// The CPU must have the instruction set.
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        let mut v = [0f32; L];
        // SAFETY: `v` holds sixteen floats; the caller's for the instruction set.
        unsafe { self.store(v.as_mut_ptr()) };
        v.iter().sum()
    }
}

/// Plain arrays: the auto-vectorised form for NEON, SIMD128 and scalar targets.
#[derive(Clone, Copy)]
pub(crate) struct Portable<M>([f32; L], std::marker::PhantomData<M>);

impl<M: Madd + Copy> Lanes for Portable<M> {
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller's
        Portable(unsafe { *(p as *const [f32; L]) }, std::marker::PhantomData)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller's
        unsafe { *(p as *mut [f32; L]) = self.0 }
    }
    #[inline(always)]
    unsafe fn madd(x: f32, w: Self, mut acc: Self) -> Self {
        for l in 0..L {
            acc.0[l] = M::madd(x, w.0[l], acc.0[l]);
        }
        acc
    }
    #[inline(always)]
    unsafe fn add(mut self, other: Self) -> Self {
        for l in 0..L {
            self.0[l] += other.0[l];
        }
        self
    }
    #[inline(always)]
    unsafe fn mul_add(self, w: Self, mut acc: Self) -> Self {
        for l in 0..L {
            acc.0[l] = M::madd(self.0[l], w.0[l], acc.0[l]);
        }
        acc
    }
}

/// The image as dot products over input-channel lanes, one per output pixel and channel, for
/// at most [`DOT_OC`] output channels (`wd`: [`Conv::dot`]); the store writes whole blocks.
#[inline(always)]
fn dot_image<V: Lanes>(a: &mut Args, wd: &[f32]) {
    let (k, s, pw) = (a.k, a.s, a.pw);
    let (icb, kk) = (a.ic.div_ceil(L), a.k * a.k);
    let oc = wd.len() / (icb * kk * L);
    let plane = a.ph * pw * L;
    // every read and write below stays inside these bounds
    assert!(a.ocb == 1 && oc <= L && a.bias.len() >= L && icb * plane <= a.x.len());
    assert!(a.oh > 0 && a.ow > 0 && (a.oh - 1) * s + k <= a.ph && (a.ow - 1) * s + k <= pw);
    assert!(a.oh * a.ow * L <= a.out.len() && a.res.is_none_or(|r| r.len() == a.out.len()));
    let (xs, ws) = (a.x.as_ptr(), wd.as_ptr());
    for oh in 0..a.oh {
        for ow in 0..a.ow {
            let at = (oh * a.ow + ow) * L;
            let mut px: [f32; L] = match a.res {
                Some(r) => r[at..at + L].try_into().expect("L lanes"),
                None => [0.0; L],
            };
            for (o, v) in px.iter_mut().enumerate().take(oc) {
                // SAFETY: the asserts above bound every offset: channel block `cb` < icb, row
                // `oh·s + kh` < ph, column `ow·s + kw` < pw, weight `o` < oc; `image` only
                // calls this with `V` the CPU has.
                unsafe {
                    let mut acc = V::load([0.0; L].as_ptr());
                    for cb in 0..icb {
                        for kh in 0..k {
                            let row = xs.add(cb * plane + ((oh * s + kh) * pw + ow * s) * L);
                            let wrow = ws.add(((o * icb + cb) * kk + kh * k) * L);
                            for kw in 0..k {
                                acc = V::load(row.add(kw * L)).mul_add(V::load(wrow.add(kw * L)), acc);
                            }
                        }
                    }
                    *v += acc.sum() + a.bias[o];
                }
            }
            a.out[at..at + L].copy_from_slice(&px);
        }
    }
}

/// Accumulate into `B × R × T` register vectors (`R` rows of `T` pixels from row `oh`): the
/// store comes once, after the reduction.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices address the register tile
fn tile<V: Lanes, const B: usize, const T: usize, const R: usize, const K: usize>(
    a: &mut Args,
    ob: usize,
    oh: usize,
    ow0: usize,
) {
    let k = if K == 0 { a.k } else { K };
    let (s, pw) = (a.s, a.pw);
    let plane = a.ph * pw * L;
    // every read and write below stays inside these bounds
    assert!(a.ic.div_ceil(L) * plane <= a.x.len());
    assert!(((oh + R - 1) * s + k - 1) < a.ph && ((ow0 + T - 1) * s + k - 1) < pw);
    assert!(oh + R <= a.oh && ow0 + T <= a.ow);
    assert!((ob + B) * a.ic * k * k * L <= a.w.len() && (ob + B) * L <= a.bias.len());
    assert!((((ob + B - 1) * a.oh + oh + R - 1) * a.ow + ow0 + T) * L <= a.out.len());
    assert!(a.res.is_none_or(|r| r.len() == a.out.len()));
    let (xs, ws) = (a.x.as_ptr(), a.w.as_ptr());
    let kk = k * k;
    // SAFETY: the asserts above bound every offset: channel block `ic / L` < ic blocks,
    // row `(oh + r)·s + kh` < ph, column `(ow0 + p)·s + kw` < pw, weight and bias block
    // `ob + o` < ocb, output row `oh + r` < oh and pixel `ow0 + p` < ow; `image` only calls
    // this with `V` the CPU has.
    unsafe {
        let mut acc = [[[V::load(a.bias.as_ptr()); T]; R]; B];
        for (o, acc) in acc.iter_mut().enumerate() {
            let b = V::load(a.bias.as_ptr().add((ob + o) * L));
            acc.iter_mut().flatten().for_each(|p| *p = b);
        }
        for ic in 0..a.ic {
            let base = xs.add((ic / L) * plane + ic % L);
            let wbase = ws.add((ob * a.ic + ic) * kk * L);
            for kh in 0..k {
                for kw in 0..k {
                    let mut wv = [V::load(wbase); B];
                    for (o, wv) in wv.iter_mut().enumerate() {
                        *wv = V::load(wbase.add((o * a.ic * kk + kh * k + kw) * L));
                    }
                    for r in 0..R {
                        let row = base.add(((oh + r) * s + kh) * pw * L);
                        for p in 0..T {
                            let xv = *row.add(((ow0 + p) * s + kw) * L);
                            for o in 0..B {
                                acc[o][r][p] = V::madd(xv, wv[o], acc[o][r][p]);
                            }
                        }
                    }
                }
            }
        }
        for (o, acc) in acc.iter().enumerate() {
            for (r, acc) in acc.iter().enumerate() {
                for (p, acc) in acc.iter().enumerate() {
                    let at = (((ob + o) * a.oh + oh + r) * a.ow + ow0 + p) * L;
                    let v = match a.res {
                        Some(res) => acc.add(V::load(res.as_ptr().add(at))),
                        None => *acc,
                    };
                    v.store(a.out.as_mut_ptr().add(at));
                }
            }
        }
    }
}
