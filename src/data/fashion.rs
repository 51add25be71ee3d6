//! Fashion-MNIST (MIT) from Debian's `dataset-fashion-mnist`: 28×28 grey garments in ten
//! classes, read from its gzipped IDX files.

use crate::data::images::ImageSet;
use crate::error::{Error, Result};

/// Garment classes of Fashion-MNIST, by label.
pub const CLASSES: [&str; 10] =
    ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

/// Where Debian's `dataset-fashion-mnist` puts its files.
pub const FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

fn gunzip(path: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let bad = |reason: String| Error::Input { path: path.into(), reason };
    let file = std::fs::File::open(path).map_err(|e| bad(format!("{e} (install Debian's dataset-fashion-mnist)")))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut out).map_err(|e| bad(e.to_string()))?;
    Ok(out)
}

/// Reads an IDX image file and its label file (gzip), e.g. `train` or `t10k` from
/// [`FASHION_DIR`].
pub fn read_idx(images: &str, labels: &str) -> Result<ImageSet> {
    let (img, lab) = (gunzip(images)?, gunzip(labels)?);
    let be = |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    if img.len() < 16 || be(&img, 0) != 0x803 || lab.len() < 8 || be(&lab, 0) != 0x801 {
        return Err(Error::Input { path: images.into(), reason: "not an IDX image/label pair".into() });
    }
    let (n, rows, cols) = (be(&img, 4), be(&img, 8), be(&img, 12));
    if rows != cols || img.len() != 16 + n * rows * cols || be(&lab, 4) != n || lab.len() != 8 + n {
        return Err(Error::Input {
            path: images.into(),
            reason: "sizes in the IDX headers do not match the data".into(),
        });
    }
    let pixels = img[16..].iter().map(|&p| p as f32 / 127.5 - 1.0).collect();
    Ok(ImageSet { channels: 1, side: rows, pixels, labels: lab[8..].to_vec(), classes: &CLASSES })
}

/// The Fashion-MNIST split `train` or `t10k`, from `$DG_FASHION_DIR` or [`FASHION_DIR`].
pub fn load(split: &str) -> Result<ImageSet> {
    let dir = std::env::var("DG_FASHION_DIR").unwrap_or_else(|_| FASHION_DIR.to_string());
    read_idx(&format!("{dir}/{split}-images-idx3-ubyte.gz"), &format!("{dir}/{split}-labels-idx1-ubyte.gz"))
}
