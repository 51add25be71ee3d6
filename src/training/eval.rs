//! Measuring image samples: PNG grids and sizes (grey or RGB), and the Fréchet distance
//! between feature sets.

use crate::error::{Error, Result};

/// 8-bit values of an image in [-1, 1].
pub fn to_u8(image: &[f64]) -> Vec<u8> {
    image.iter().map(|v| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect()
}

/// One image's `C×H×W` 8-bit values as PNG pixels (grey, or RGB interleaved).
fn interleaved(image: &[f64], channels: usize) -> Vec<u8> {
    let plane = image.len() / channels;
    let values = to_u8(image);
    (0..plane).flat_map(|p| (0..channels).map(move |c| p + c * plane)).map(|i| values[i]).collect()
}

fn encode(pixels: &[u8], width: usize, height: usize, channels: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
    enc.set_color(if channels == 3 { png::ColorType::Rgb } else { png::ColorType::Grayscale });
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut writer = enc.write_header().map_err(|e| Error::Backend(format!("png: {e}")))?;
    writer.write_image_data(pixels).map_err(|e| Error::Backend(format!("png: {e}")))?;
    writer.finish().map_err(|e| Error::Backend(format!("png: {e}")))?;
    Ok(out)
}

/// The side of square images of `len` values in `channels` (1 or 3) channels.
fn side_of(len: usize, channels: usize) -> Result<usize> {
    let side = ((len / channels.max(1)) as f64).sqrt().round() as usize;
    if !matches!(channels, 1 | 3) || side == 0 || channels * side * side != len {
        return Err(Error::invalid("png", format!("{len} values are not square images of {channels} channels")));
    }
    Ok(side)
}

/// A grid of square images (rows of `C×side×side` values in [-1, 1], C = 1 or 3) as PNG
/// bytes, one black pixel of gap between tiles.
pub fn png_grid(images: &[Vec<f64>], channels: usize, cols: usize) -> Result<Vec<u8>> {
    let n = images.len().max(1);
    let side = side_of(images.first().map_or(channels, Vec::len), channels)?;
    if images.iter().any(|im| im.len() != channels * side * side) {
        return Err(Error::invalid("png", "samples are not images of one size"));
    }
    let cols = cols.clamp(1, n);
    let rows = n.div_ceil(cols);
    let (w, h) = (cols * (side + 1) + 1, rows * (side + 1) + 1);
    let mut canvas = vec![0u8; w * h * channels];
    for (k, im) in images.iter().enumerate() {
        let (r, c) = (k / cols, k % cols);
        for (i, px) in interleaved(im, channels).chunks_exact(channels).enumerate() {
            let at = (r * (side + 1) + 1 + i / side) * w + c * (side + 1) + 1 + i % side;
            canvas[at * channels..][..channels].copy_from_slice(px);
        }
    }
    encode(&canvas, w, h, channels)
}

/// Bits per pixel of one image (`C×H×W`, C = 1 or 3) stored as an 8-bit PNG (best
/// compression): the detail measure the paper correlates with log p.
pub fn png_bits_per_pixel(image: &[f64], channels: usize) -> Result<f64> {
    let side = side_of(image.len(), channels)?;
    Ok(8.0 * encode(&interleaved(image, channels), side, side, channels)?.len() as f64 / (side * side) as f64)
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
        // rows as an n×d matrix, centred; the covariance is XcᵀXc / (n − 1)
        let x = nalgebra::DMatrix::from_fn(rows.len(), d, |i, j| rows[i][j]);
        let mean = x.row_mean();
        let centred = nalgebra::DMatrix::from_fn(rows.len(), d, |i, j| x[(i, j)] - mean[j]);
        let cov = centred.tr_mul(&centred) / (rows.len() as f64 - 1.0);
        // symmetric, so row-major and column-major storage agree
        let (mean, cov) = (mean.iter().copied().collect(), cov.as_slice().to_vec());
        Ok(Moments { mean, cov })
    }
}

/// The Fréchet distance of the Gaussians fitted to two feature sets:
/// `|μ₁ - μ₂|² + tr C₁ + tr C₂ - 2 tr (C₁^½ C₂ C₁^½)^½`, the matrix roots from nalgebra's
/// symmetric eigen-decomposition (negative round-off clamped to 0).
pub fn frechet_distance(a: &Moments, b: &Moments) -> f64 {
    use nalgebra::DMatrix;
    let d = a.mean.len();
    let mean: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y).powi(2)).sum();
    let (ca, cb) = (DMatrix::from_row_slice(d, d, &a.cov), DMatrix::from_row_slice(d, d, &b.cov));
    let eigen = ca.clone().symmetric_eigen();
    let roots = eigen.eigenvalues.map(|v| v.max(0.0).sqrt());
    let root = &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose();
    let inner = &root * cb.clone() * &root;
    let inner = (&inner + inner.transpose()) * 0.5;
    let cross: f64 = inner.symmetric_eigenvalues().iter().map(|v| v.max(0.0).sqrt()).sum();
    mean + ca.trace() + cb.trace() - 2.0 * cross
}
