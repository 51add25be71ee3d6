//! Measuring image samples: PNG grids and sizes, and the Fréchet distance between feature sets.

use crate::error::{Error, Result};

/// 8-bit grey pixels of an image in [-1, 1].
pub fn to_u8(image: &[f64]) -> Vec<u8> {
    image.iter().map(|v| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect()
}

fn encode(pixels: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut writer = enc.write_header().map_err(|e| Error::Backend(format!("png: {e}")))?;
    writer.write_image_data(pixels).map_err(|e| Error::Backend(format!("png: {e}")))?;
    writer.finish().map_err(|e| Error::Backend(format!("png: {e}")))?;
    Ok(out)
}

/// A grid of square images (rows of `side²` pixels in [-1, 1]) as PNG bytes, one pixel of
/// gap between tiles.
pub fn png_grid(images: &[Vec<f64>], cols: usize) -> Result<Vec<u8>> {
    let n = images.len().max(1);
    let side = (images.first().map_or(1, Vec::len) as f64).sqrt() as usize;
    if images.iter().any(|im| im.len() != side * side) {
        return Err(Error::invalid("png", "samples are not square images"));
    }
    let cols = cols.clamp(1, n);
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * (side + 1) + 1, rows * (side + 1) + 1);
    let mut canvas = vec![0u8; w * h];
    for (k, im) in images.iter().enumerate() {
        let (r, c) = (k / cols, k % cols);
        for (i, px) in to_u8(im).into_iter().enumerate() {
            canvas[(r * (side + 1) + 1 + i / side) * w + c * (side + 1) + 1 + i % side] = px;
        }
    }
    encode(&canvas, w, h)
}

/// Bits per pixel of one image stored as an 8-bit grey PNG (best compression): the detail
/// measure the paper correlates with log p.
pub fn png_bits_per_pixel(image: &[f64]) -> Result<f64> {
    let side = (image.len() as f64).sqrt() as usize;
    if side * side != image.len() || side == 0 {
        return Err(Error::invalid("png", "not a square image"));
    }
    Ok(8.0 * encode(&to_u8(image), side, side)?.len() as f64 / image.len() as f64)
}

/// Mean and covariance of feature vectors (row-major `d × d`, divided by n - 1).
#[derive(Clone, Debug)]
pub struct Moments {
    pub mean: Vec<f64>,
    pub cov: Vec<f64>,
}

impl Moments {
    pub fn of(rows: &[Vec<f64>]) -> Result<Moments> {
        let d = rows.first().map_or(0, Vec::len);
        if rows.len() < 2 || d == 0 || rows.iter().any(|r| r.len() != d) {
            return Err(Error::invalid("features", "need at least two equally long rows"));
        }
        let n = rows.len() as f64;
        let mut mean = vec![0.0; d];
        for r in rows {
            mean.iter_mut().zip(r).for_each(|(m, v)| *m += v / n);
        }
        let mut cov = vec![0.0; d * d];
        for r in rows {
            for i in 0..d {
                let ci = (r[i] - mean[i]) / (n - 1.0);
                for j in i..d {
                    cov[i * d + j] += ci * (r[j] - mean[j]);
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                cov[i * d + j] = cov[j * d + i];
            }
        }
        Ok(Moments { mean, cov })
    }
}

/// The Fréchet distance of the Gaussians fitted to two feature sets:
/// `|μ₁ - μ₂|² + tr C₁ + tr C₂ - 2 tr (C₁^½ C₂ C₁^½)^½`.
pub fn frechet_distance(a: &Moments, b: &Moments) -> f64 {
    let d = a.mean.len();
    let mean: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y).powi(2)).sum();
    let trace = |c: &[f64]| (0..d).map(|i| c[i * d + i]).sum::<f64>();
    let root = sym_fn(&a.cov, d, f64::sqrt);
    let inner = matmul(&matmul(&root, &b.cov, d), &root, d);
    let (vals, _) = sym_eigen(&inner, d);
    let cross: f64 = vals.iter().map(|v| v.max(0.0).sqrt()).sum();
    mean + trace(&a.cov) + trace(&b.cov) - 2.0 * cross
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                out[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    out
}

/// `f` applied to a symmetric matrix through its eigenvalues (negative round-off clamped to 0).
fn sym_fn(a: &[f64], d: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let (vals, vecs) = sym_eigen(a, d);
    let mut out = vec![0.0; d * d];
    for (k, v) in vals.iter().enumerate() {
        let fv = f(v.max(0.0));
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] += fv * vecs[i * d + k] * vecs[j * d + k];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations:
/// slow for large d, exact to round-off, and enough for 128-d features.
pub fn sym_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off <= 1e-28 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = (if theta >= 0.0 { 1.0 } else { -1.0 }) / (theta.abs() + (theta * theta + 1.0).sqrt());
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}
