//! Training data: the 2-D lab's generators and Fashion-MNIST from Debian's IDX files.

use crate::error::{Error, Result};
use crate::gmm::MixtureSpec;
use crate::rng::HostRng;

/// The 2-D lab's data sets, each scaled to about unit spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lab {
    Moons,
    EightGaussians,
    Checkerboard,
    /// A mixture with a known density: its trained model has an analytic twin.
    Gmm,
}

impl Lab {
    pub const ALL: [Lab; 4] = [Lab::Moons, Lab::EightGaussians, Lab::Checkerboard, Lab::Gmm];

    pub fn parse(s: &str) -> Option<Lab> {
        Lab::ALL.into_iter().find(|l| l.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Lab::Moons => "moons",
            Lab::EightGaussians => "8gaussians",
            Lab::Checkerboard => "checkerboard",
            Lab::Gmm => "gmm",
        }
    }

    /// `n` points, flat `[n·2]`.
    pub fn sample(self, n: usize, rng: &mut HostRng) -> Vec<f64> {
        let mut out = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let (x, y) = match self {
                Lab::Moons => {
                    let a = std::f64::consts::PI * rng.uniform();
                    let (x, y) = if rng.uniform() < 0.5 { (a.cos(), a.sin()) } else { (1.0 - a.cos(), 0.5 - a.sin()) };
                    ((x - 0.5) * 1.6 + 0.08 * rng.normal(), (y - 0.25) * 1.6 + 0.08 * rng.normal())
                }
                Lab::EightGaussians => {
                    let k = (rng.uniform() * 8.0).floor();
                    let a = k * std::f64::consts::FRAC_PI_4;
                    (1.5 * a.cos() + 0.1 * rng.normal(), 1.5 * a.sin() + 0.1 * rng.normal())
                }
                Lab::Checkerboard => {
                    // 4×4 board on [-2, 2]², only the dark squares
                    let (i, j) = ((rng.uniform() * 4.0).floor(), (rng.uniform() * 2.0).floor());
                    let j = 2.0 * j + (i % 2.0);
                    (i - 2.0 + rng.uniform(), j - 2.0 + rng.uniform())
                }
                Lab::Gmm => {
                    let p = lab_mixture().sample(1, rng).remove(0);
                    (p[0], p[1])
                }
            };
            out.push(x);
            out.push(y);
        }
        out
    }
}

/// The lab's mixture; `models/lab-gmm.json` holds the same numbers for `gmm:` use.
pub fn lab_mixture() -> MixtureSpec {
    MixtureSpec {
        weights: vec![0.35, 0.25, 0.25, 0.15],
        means: vec![vec![-1.2, -0.6], vec![1.0, 1.0], vec![1.1, -1.0], vec![-0.6, 1.3]],
        stds: vec![0.3, 0.25, 0.4, 0.2],
    }
}

/// Garment classes of Fashion-MNIST, by label.
pub const CLASSES: [&str; 10] =
    ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"];

/// A class by number or name.
pub fn parse_class(s: &str) -> Result<usize> {
    s.parse::<usize>()
        .ok()
        .filter(|&c| c < CLASSES.len())
        .or_else(|| CLASSES.iter().position(|c| *c == s))
        .ok_or_else(|| Error::invalid("class", format!("'{s}' is not 0-9 or one of {}", CLASSES.join(", "))))
}

/// Images as rows of `side²` pixels in [-1, 1], with labels.
pub struct Images {
    pub side: usize,
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.side * self.side;
        &self.pixels[i * d..(i + 1) * d]
    }
}

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
pub fn read_idx(images: &str, labels: &str) -> Result<Images> {
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
    Ok(Images { side: rows, pixels, labels: lab[8..].to_vec() })
}

/// The Fashion-MNIST split `train` or `t10k`, from `$DG_FASHION_DIR` or [`FASHION_DIR`].
pub fn fashion(split: &str) -> Result<Images> {
    let dir = std::env::var("DG_FASHION_DIR").unwrap_or_else(|_| FASHION_DIR.to_string());
    read_idx(&format!("{dir}/{split}-images-idx3-ubyte.gz"), &format!("{dir}/{split}-labels-idx1-ubyte.gz"))
}
