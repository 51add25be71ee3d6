//! Looking at image samples: PNG grids.

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
