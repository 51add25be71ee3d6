//! Group normalisation followed by SiLU (the only way the U-Net uses either), fused into one
//! pass over the blocked layout, and its forward-mode derivative (JVP). Statistics are
//! accumulated per lane, in f32 over short runs and f64 across them; the elementwise pass is
//! compiled per instruction set.

use super::{Blocked, L, for_each_image, for_each_image2, isa, multiversion, sigmoid, silu};

/// `silu(GroupNorm(x))` with burn's parameters: `groups` groups of consecutive channels,
/// biased variance, `eps` added before the square root, then `γ·x̂ + β`.
#[derive(Clone, Debug)]
pub struct NormSilu {
    pub c: usize,
    pub groups: usize,
    pub eps: f64,
    gamma: Vec<f64>,
    beta: Vec<f64>,
}

/// Per image: for each channel, `Σx` (or another sum, `f` adding pixel `p` of block `b`) over
/// its pixels. Runs of up to [`RUN`] pixels are summed in f32 (vectors of f32, not f64, lanes:
/// twice the width) and the runs in f64.
fn channel_sums(
    img: &[f32],
    cb: usize,
    hw: usize,
    mut f: impl FnMut(usize, usize, &[f32; L], &mut [f32; L]),
) -> Vec<f64> {
    let mut sums = vec![0.0; cb * L];
    for b in 0..cb {
        let acc: &mut [f64] = &mut sums[b * L..][..L];
        for start in (0..hw).step_by(RUN) {
            let mut run = [0f32; L];
            for p in start..hw.min(start + RUN) {
                let v: &[f32; L] = img[(b * hw + p) * L..][..L].try_into().expect("L lanes");
                f(b, p, v, &mut run);
            }
            acc.iter_mut().zip(run).for_each(|(a, r)| *a += f64::from(r));
        }
    }
    sums
}

/// Pixels per f32 partial sum in [`channel_sums`].
const RUN: usize = 32;

impl NormSilu {
    pub fn new(c: usize, groups: usize, eps: f64, gamma: &[f32], beta: &[f32]) -> NormSilu {
        assert!(c.is_multiple_of(groups) && gamma.len() == c && beta.len() == c);
        let widen = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect();
        NormSilu { c, groups, eps, gamma: widen(gamma), beta: widen(beta) }
    }

    /// Sums over each group's channels, as a per-channel vector (zero beyond `c`).
    fn per_group(&self, sums: &[f64]) -> Vec<f64> {
        let cg = self.c / self.groups;
        let mut out = vec![0.0; sums.len()];
        for g in 0..self.groups {
            let s: f64 = sums[g * cg..(g + 1) * cg].iter().sum();
            out[g * cg..(g + 1) * cg].fill(s);
        }
        out
    }

    /// Per channel: the group mean `μ` and `1/√(var + eps)`.
    fn stats(&self, img: &[f32], cb: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
        let count = (self.c / self.groups * hw) as f64;
        let sums = channel_sums(img, cb, hw, |_, _, v, acc| {
            for l in 0..L {
                acc[l] += v[l];
            }
        });
        let mu: Vec<f64> = self.per_group(&sums).iter().map(|s| s / count).collect();
        let mu32: Vec<f32> = mu.iter().map(|&m| m as f32).collect();
        let sq = channel_sums(img, cb, hw, |b, _, v, acc| {
            for l in 0..L {
                let d = v[l] - mu32[b * L + l];
                acc[l] += d * d;
            }
        });
        let rstd = self.per_group(&sq).iter().map(|s| 1.0 / (s / count + self.eps).sqrt()).collect();
        (mu, rstd)
    }

    /// `silu(γ·(x - μ)/σ + β)`.
    pub fn forward(&self, x: &Blocked) -> Blocked {
        assert_eq!(x.c, self.c, "channels");
        let (cb, hw, len) = (x.blocks(), x.h * x.w, x.image_len());
        let mut out = Blocked::for_overwrite(x.n, x.c, x.h, x.w);
        let isa = isa();
        for_each_image(&mut out.data, len, |n, o| {
            let img = &x.data[n * len..][..len];
            let (mu, rstd) = self.stats(img, cb, hw);
            let (mut a, mut b) = (vec![0f32; cb * L], vec![0f32; cb * L]);
            for ch in 0..self.c {
                let s = self.gamma[ch] * rstd[ch];
                a[ch] = s as f32;
                b[ch] = (self.beta[ch] - mu[ch] * s) as f32;
            }
            apply(isa, img, o, &a, &b, hw);
        });
        out
    }

    /// The value and its tangent: `y = silu(u)`, `u = γ·x̂ + β`, and
    /// `dy = silu'(u)·γ·r·(dx - mean(dx) - x̂·mean(x̂·dx))` (means over the group).
    pub fn jvp(&self, x: &Blocked, dx: &Blocked) -> (Blocked, Blocked) {
        assert_eq!(x.c, self.c, "channels");
        assert_eq!((x.n, x.c, x.h, x.w), (dx.n, dx.c, dx.h, dx.w), "tangent shape");
        let (cb, hw, len) = (x.blocks(), x.h * x.w, x.image_len());
        let count = (self.c / self.groups * hw) as f64;
        let mut out = Blocked::for_overwrite(x.n, x.c, x.h, x.w);
        let mut dout = Blocked::for_overwrite(x.n, x.c, x.h, x.w);
        let isa = isa();
        for_each_image2(&mut out.data, &mut dout.data, len, |n, o, d| {
            let img = &x.data[n * len..][..len];
            let dimg = &dx.data[n * len..][..len];
            let (mu, rstd) = self.stats(img, cb, hw);
            let sd = channel_sums(dimg, cb, hw, |_, _, v, acc| {
                for l in 0..L {
                    acc[l] += v[l];
                }
            });
            let mu32: Vec<f32> = mu.iter().map(|&m| m as f32).collect();
            let sxd = channel_sums(dimg, cb, hw, |b, p, v, acc| {
                let xv = &img[(b * hw + p) * L..][..L];
                for l in 0..L {
                    acc[l] += (xv[l] - mu32[b * L + l]) * v[l];
                }
            });
            let (sd, sxd) = (self.per_group(&sd), self.per_group(&sxd));
            let mut coef = vec![[0f32; 4]; cb * L];
            for ch in 0..self.c {
                let (r, g) = (rstd[ch], self.gamma[ch]);
                let (m1, m2) = (sd[ch] / count, r * sxd[ch] / count);
                // u = a·x + b; du = a·dx + c·x + e
                let a = g * r;
                let c = -g * r * r * m2;
                let e = -g * r * m1 + g * r * r * m2 * mu[ch];
                coef[ch] = [a as f32, (self.beta[ch] - mu[ch] * a) as f32, c as f32, e as f32];
            }
            let pick = |i: usize| coef.iter().map(|c| c[i]).collect::<Vec<f32>>();
            apply_jvp(isa, img, dimg, o, d, &pick(0), &pick(1), &pick(2), &pick(3), hw);
        });
        (out, dout)
    }
}

multiversion! {
    /// `o = silu(a·x + b)` per channel lane, over one image.
    fn apply(x: &[f32], o: &mut [f32], a: &[f32], b: &[f32], hw: usize) {
        for (cb, (a, b)) in a.chunks_exact(L).zip(b.chunks_exact(L)).enumerate() {
            let (a, b): (&[f32; L], &[f32; L]) = (a.try_into().expect("L"), b.try_into().expect("L"));
            let xs = &x[cb * hw * L..][..hw * L];
            let os = &mut o[cb * hw * L..][..hw * L];
            for (xv, ov) in xs.chunks_exact(L).zip(os.chunks_exact_mut(L)) {
                for l in 0..L {
                    ov[l] = silu(a[l] * xv[l] + b[l]);
                }
            }
        }
    }
}

multiversion! {
    /// `o = silu(u)`, `d = silu'(u)·(a·dx + c·x + e)` with `u = a·x + b`, over one image.
    #[allow(clippy::too_many_arguments)]
    fn apply_jvp(x: &[f32], dx: &[f32], o: &mut [f32], d: &mut [f32], a: &[f32], b: &[f32], c: &[f32], e: &[f32], hw: usize) {
        for cb in 0..a.len() / L {
            let lanes = |v: &[f32]| -> [f32; L] { v[cb * L..][..L].try_into().expect("L") };
            let (a, b, c, e) = (lanes(a), lanes(b), lanes(c), lanes(e));
            let span = cb * hw * L..(cb + 1) * hw * L;
            let (xs, dxs) = (&x[span.clone()], &dx[span.clone()]);
            let (os, ds) = (&mut o[span.clone()], &mut d[span]);
            for (((xv, dv), ov), dov) in
                xs.chunks_exact(L).zip(dxs.chunks_exact(L)).zip(os.chunks_exact_mut(L)).zip(ds.chunks_exact_mut(L))
            {
                for l in 0..L {
                    let u = a[l] * xv[l] + b[l];
                    let s = sigmoid(u);
                    ov[l] = u * s;
                    // silu'(u) = σ(u)·(1 + u·(1 - σ(u)))
                    dov[l] = s * (1.0 + u * (1.0 - s)) * (a[l] * dv[l] + c[l] * xv[l] + e[l]);
                }
            }
        }
    }
}
