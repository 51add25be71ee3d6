//! Hand-written f32 kernels for the CPU inference path ([`crate::nets::host`]): the U-Net's
//! direct convolutions, group norm with SiLU, upsampling and concatenation, on activations in
//! a blocked channel layout (NCHW16c: sixteen channels per block, the innermost axis), so that
//! one output pixel's sixteen channels fill one AVX-512 register (two AVX2, four NEON or
//! SIMD128 registers).
//!
//! One source serves every target, each kernel compiled several times behind run-time dispatch
//! ([`Isa`]): AVX-512 and AVX2+FMA on x86_64 (`is_x86_feature_detected!` + `#[target_feature]`
//! wrappers), NEON on aarch64 (always there), SIMD128 on wasm32 when the build enables it,
//! plain scalar code elsewhere. The convolution's register tiles name each target's vectors
//! (`conv::Lanes`); the other loops are plain Rust written to auto-vectorise. Natively the
//! batch is split over the cores with rayon; in the browser each worker runs on one thread.

pub mod conv;
#[cfg(not(target_arch = "wasm32"))]
pub mod grad;
pub mod norm;

use burn::tensor::{Device, FloatDType};

/// Whether the kernels serve `device` (the host U-Net, [`crate::nets::host`], and the training
/// extensions): burn's flex CPU backend in f32 (f64 keeps burn's
/// exact path; wgpu is a GPU), natively and in the browser. `DG_HOST_KERNELS=0` turns it off
/// natively (for comparisons). In the page (SIMD128, batch 16, busy machine) a plain
/// Fashion-MNIST step measured 39–56 ms against flex's 71–156 ms in the same rounds.
pub fn serves(device: &Device) -> bool {
    if std::env::var("DG_HOST_KERNELS").is_ok_and(|v| v == "0") {
        return false;
    }
    device.clone().inner() == Device::flex() && device.settings().float_dtype == FloatDType::F32
}

/// Channels per block of the blocked layout.
pub const L: usize = 16;

/// The instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Neon,
    Simd128,
    /// The portable form compiled for the target's baseline.
    Scalar,
}

/// Every form this machine can run, best first; the last is always [`Isa::Scalar`].
pub fn available() -> &'static [Isa] {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<Vec<Isa>> = std::sync::OnceLock::new();
        DETECTED.get_or_init(|| {
            let fma = std::is_x86_feature_detected!("fma");
            let mut v = Vec::new();
            if fma && std::is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
            if fma && std::is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2);
            }
            v.push(Isa::Scalar);
            v
        })
    }
    #[cfg(target_arch = "aarch64")]
    {
        &[Isa::Neon, Isa::Scalar]
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        &[Isa::Simd128, Isa::Scalar]
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    {
        &[Isa::Scalar]
    }
}

thread_local! {
    /// [`with_isa`]'s choice on this thread.
    static FORCED: std::cell::Cell<Option<Isa>> = const { std::cell::Cell::new(None) };
}

/// The form a kernel called on this thread runs with: [`with_isa`]'s, else the best available.
/// Kernels read it once per call, on the calling thread, and hand it to their worker threads.
pub fn isa() -> Isa {
    FORCED.get().unwrap_or(available()[0])
}

/// Runs `f` with the kernels it calls on this thread forced to `isa`, so that tests cover
/// every form the machine can run, not only the best. Panics if the machine cannot run `isa`.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    assert!(available().contains(&isa), "{isa:?} is not available here");
    /// Restores the previous choice, also when `f` panics.
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.set(self.0);
        }
    }
    let _restore = Restore(FORCED.replace(Some(isa)));
    f()
}

/// How `a·b + c` is computed: fused where the target has FMA (one instruction, one rounding),
/// else a multiply and an add (on targets without FMA, `mul_add` is a slow library call).
pub(crate) trait Madd {
    fn madd(a: f32, b: f32, c: f32) -> f32;
}

/// `a.mul_add(b, c)`: for targets with FMA.
#[derive(Clone, Copy)]
pub(crate) struct Fused;
/// `a * b + c`: for targets without FMA.
#[derive(Clone, Copy)]
pub(crate) struct Split;

impl Madd for Fused {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl Madd for Split {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// A batch of feature maps in the blocked layout `[n][c / L][h][w][L]`; the lanes of the last
/// block beyond `c` are zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<f32>,
}

thread_local! {
    /// Buffers of dropped [`Blocked`] maps, reused: fresh large allocations come from the OS as
    /// untouched pages, and faulting them in cost more than the kernels at batch 64.
    static POOL: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer of `len` floats from the pool (or new); zeroed when `zero`, else holding whatever
/// its last user left (for outputs a kernel overwrites completely).
fn buffer(len: usize, zero: bool) -> Vec<f32> {
    let reused = POOL.with_borrow_mut(|pool| {
        let best = pool.iter().enumerate().filter(|(_, v)| v.capacity() >= len).min_by_key(|(_, v)| v.capacity());
        best.map(|(i, _)| i).map(|i| pool.swap_remove(i))
    });
    match reused {
        Some(mut v) => {
            if v.len() >= len {
                v.truncate(len);
                if zero {
                    v.fill(0.0);
                }
            } else {
                if zero {
                    v.fill(0.0);
                }
                v.resize(len, 0.0);
            }
            v
        }
        None => vec![0.0; len],
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        let data = std::mem::take(&mut self.data);
        if data.capacity() >= 4096 {
            // a thread's pool is only ever as large as one forward pass's live maps
            let _ = POOL.try_with(|p| {
                let mut pool = p.borrow_mut();
                if pool.len() < 64 {
                    pool.push(data);
                }
            });
        }
    }
}

impl Blocked {
    pub fn zeros(n: usize, c: usize, h: usize, w: usize) -> Blocked {
        Blocked { n, c, h, w, data: buffer(n * c.div_ceil(L) * h * w * L, true) }
    }

    /// A map whose every float, padding lanes included, the caller will write.
    pub(crate) fn for_overwrite(n: usize, c: usize, h: usize, w: usize) -> Blocked {
        Blocked { n, c, h, w, data: buffer(n * c.div_ceil(L) * h * w * L, false) }
    }

    /// Channel blocks.
    pub fn blocks(&self) -> usize {
        self.c.div_ceil(L)
    }

    /// Floats per image.
    pub fn image_len(&self) -> usize {
        self.blocks() * self.h * self.w * L
    }

    /// From NCHW.
    pub fn from_nchw(x: &[f32], n: usize, c: usize, h: usize, w: usize) -> Blocked {
        assert_eq!(x.len(), n * c * h * w, "NCHW data of the wrong length");
        let mut out = Blocked::zeros(n, c, h, w);
        let hw = h * w;
        let img = out.image_len();
        for b in 0..n {
            for ch in 0..c {
                let (cb, lane) = (ch / L, ch % L);
                let src = &x[(b * c + ch) * hw..][..hw];
                let dst = &mut out.data[b * img + cb * hw * L..][..hw * L];
                for (p, v) in src.iter().enumerate() {
                    dst[p * L + lane] = *v;
                }
            }
        }
        out
    }

    /// To NCHW.
    pub fn to_nchw(&self) -> Vec<f32> {
        let (hw, img) = (self.h * self.w, self.image_len());
        let mut out = vec![0.0; self.n * self.c * hw];
        for b in 0..self.n {
            for ch in 0..self.c {
                let (cb, lane) = (ch / L, ch % L);
                let src = &self.data[b * img + cb * hw * L..][..hw * L];
                let dst = &mut out[(b * self.c + ch) * hw..][..hw];
                for (p, v) in dst.iter_mut().enumerate() {
                    *v = src[p * L + lane];
                }
            }
        }
        out
    }
}

/// Nearest-neighbour ×2 upsampling of `a`, then the channels of `b` after it (the U-Net's
/// decoder input), written straight into one blocked buffer.
pub fn upsample_concat(a: &Blocked, b: &Blocked) -> Blocked {
    assert_eq!(a.n, b.n);
    assert_eq!((2 * a.h, 2 * a.w), (b.h, b.w), "the skip must be twice the side");
    let (h, w) = (b.h, b.w);
    let mut out = Blocked::zeros(a.n, a.c + b.c, h, w);
    let (img, ia, ib) = (out.image_len(), a.image_len(), b.image_len());
    let hw = h * w;
    for n in 0..a.n {
        let o = &mut out.data[n * img..][..img];
        let sa = &a.data[n * ia..][..ia];
        if a.c.is_multiple_of(L) {
            for cb in 0..a.blocks() {
                for y in 0..h {
                    for x in 0..w {
                        let src = &sa[((cb * a.h + y / 2) * a.w + x / 2) * L..][..L];
                        o[((cb * h + y) * w + x) * L..][..L].copy_from_slice(src);
                    }
                }
            }
        } else {
            for ch in 0..a.c {
                let (cb, lane) = (ch / L, ch % L);
                for y in 0..h {
                    for x in 0..w {
                        o[((cb * h + y) * w + x) * L + lane] = sa[((cb * a.h + y / 2) * a.w + x / 2) * L + lane];
                    }
                }
            }
        }
        let sb = &b.data[n * ib..][..ib];
        if a.c.is_multiple_of(L) {
            o[a.blocks() * hw * L..][..ib].copy_from_slice(sb);
        } else {
            for ch in 0..b.c {
                let (cb, lane) = (ch / L, ch % L);
                let (oc, olane) = ((a.c + ch) / L, (a.c + ch) % L);
                for p in 0..hw {
                    o[(oc * hw + p) * L + olane] = sb[(cb * hw + p) * L + lane];
                }
            }
        }
    }
    out
}

/// Runs `f(n, out_image)` for every image of `out` (chunks of `len` floats): over the cores
/// natively, in turn on wasm32.
pub(crate) fn for_each_image<F>(out: &mut [f32], len: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    if len == 0 {
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(len).enumerate().for_each(|(n, o)| f(n, o));
    }
    #[cfg(target_arch = "wasm32")]
    {
        out.chunks_mut(len).enumerate().for_each(|(n, o)| f(n, o));
    }
}

/// `eˣ` in plain arithmetic that vectorises (libm's `expf` is a scalar call): Cody–Waite
/// reduction by ln 2 and a degree-6 polynomial (Cephes' `expf` coefficients), within a few
/// ulp; saturates at the ends of f32's range. `n = round(x·log₂e)` comes from adding
/// 1.5·2²³, which leaves `n` in the low mantissa bits: no float-to-int conversion, which
/// costs several instructions per vector in wasm SIMD128 (saturating semantics).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.3, 88.3);
    let t = x * std::f32::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p =
        ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 0.166_666_65) * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(t.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(127) << 23)
}

/// Runs `f(n, out1_image, out2_image)` for every image of two outputs of the same shape.
pub(crate) fn for_each_image2<F>(out1: &mut [f32], out2: &mut [f32], len: usize, f: F)
where
    F: Fn(usize, &mut [f32], &mut [f32]) + Sync + Send,
{
    if len == 0 {
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out1.par_chunks_mut(len).zip(out2.par_chunks_mut(len)).enumerate().for_each(|(n, (a, b))| f(n, a, b));
    }
    #[cfg(target_arch = "wasm32")]
    {
        out1.chunks_mut(len).zip(out2.chunks_mut(len)).enumerate().for_each(|(n, (a, b))| f(n, a, b));
    }
}

/// `σ(u) = 1 / (1 + e⁻ᵘ)`.
#[inline(always)]
pub fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + exp(-u))
}

/// `silu(u) = u·σ(u)`.
#[inline(always)]
pub fn silu(u: f32) -> f32 {
    u * sigmoid(u)
}

/// `silu'(u) = σ(u)·(1 + u·(1 - σ(u)))`.
#[inline(always)]
pub fn silu_prime(u: f32) -> f32 {
    let s = sigmoid(u);
    s * (1.0 + u * (1.0 - s))
}

/// `y = x·W + b` for rows of `x` (`[rows, i]`), `W` `[i, o]` (burn's Linear layout).
pub fn linear(x: &[f32], rows: usize, w: &[f32], b: Option<&[f32]>, i: usize, o: usize) -> Vec<f32> {
    let mut y = vec![0.0; rows * o];
    for r in 0..rows {
        let yr = &mut y[r * o..][..o];
        if let Some(b) = b {
            yr.copy_from_slice(b);
        }
        for k in 0..i {
            let xv = x[r * i + k];
            for (yv, wv) in yr.iter_mut().zip(&w[k * o..][..o]) {
                *yv += xv * wv;
            }
        }
    }
    y
}

/// Defines a function whose body is compiled once per instruction set and picked at run time
/// by its first argument, an [`Isa`] the caller read with [`isa`]: AVX-512 and AVX2+FMA
/// wrappers on x86_64 (`#[target_feature]`), the crate's own target elsewhere (NEON is
/// baseline on aarch64; SIMD128 is a build flag on wasm32).
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name(isa: $crate::nets::kernels::Isa, $($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,fma")]
            fn avx512($($arg: $ty),*) {
                body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) {
                body($($arg),*)
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `available()` saw AVX-512F and FMA on this CPU.
                $crate::nets::kernels::Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `available()` saw AVX2 and FMA on this CPU.
                $crate::nets::kernels::Isa::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;
