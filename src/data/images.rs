//! One image data set type behind every image model: `n` images of `channels × side × side`
//! pixels in [-1, 1], channel-major (C×H×W) per image, each with a class among the set's
//! named classes. Label `classes.len()` is the null label of classifier-free guidance.

use crate::error::{Error, Result};

/// A labelled image data set.
pub struct ImageSet {
    pub channels: usize,
    pub side: usize,
    /// `len() × dim()` values, image after image.
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
    pub classes: &'static [&'static str],
}

impl ImageSet {
    /// Values per image, `C·H·W`.
    pub fn dim(&self) -> usize {
        self.channels * self.side * self.side
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.pixels[i * d..(i + 1) * d]
    }
    /// The null label (classifier-free guidance's unconditional model).
    pub fn null_label(&self) -> usize {
        self.classes.len()
    }
}

/// A class of `classes` by number, by name (any case), or by the name's first word
/// (`smileys` for "Smileys & Emotion"); `none` is the null label, which samples the
/// unconditional model. With no names known (a weights file of unknown data), any number.
pub fn parse_class(s: &str, classes: &[&str]) -> Result<usize> {
    let key = s.trim().to_lowercase();
    // "ankle boot", "ankle-boot" and "Ankle Boot" name the same class
    let spaced = |c: &str| c.to_lowercase().replace('-', " ");
    let first_word = |c: &str| c.split([' ', '-']).next().unwrap_or(c).to_lowercase();
    if key == "none" {
        // without the names the null label's number is unknown here: never guess class 0
        return if classes.is_empty() {
            Err(Error::invalid("class", "'none' needs a shipped model's classes; give the null label's number"))
        } else {
            Ok(classes.len())
        };
    }
    key.parse::<usize>()
        .ok()
        .filter(|&c| c < classes.len() || classes.is_empty())
        .or_else(|| classes.iter().position(|c| spaced(c) == spaced(&key)))
        .or_else(|| {
            let by_word: Vec<usize> = (0..classes.len()).filter(|&c| first_word(classes[c]) == key).collect();
            (by_word.len() == 1).then(|| by_word[0])
        })
        .ok_or_else(|| {
            let names = if classes.is_empty() { "a number".to_string() } else { classes.join(", ") };
            Error::invalid("class", format!("'{s}' is not none, 0-{} or one of {names}", classes.len().max(1) - 1))
        })
}
