//! Training data (native only): the 2-D lab's generators ([`lab`]) and the image data sets,
//! each read from a Debian package into one [`ImageSet`] type: Fashion-MNIST ([`fashion`],
//! 28×28 grey) and Noto Color Emoji ([`emoji`], 32×32 RGB). Builds on [`crate::sampling`] only.

pub mod emoji;
pub mod fashion;
pub mod images;
pub mod lab;

pub use images::{ImageSet, parse_class};
pub use lab::{Lab, lab_mixture};

use crate::error::Result;

/// The image data sets, by the name the CLI and the shipped models use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageData {
    Fashion,
    Emoji,
}

impl ImageData {
    pub const ALL: [ImageData; 2] = [ImageData::Fashion, ImageData::Emoji];

    pub fn parse(name: &str) -> Option<ImageData> {
        ImageData::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            ImageData::Fashion => "fashion",
            ImageData::Emoji => "emoji",
        }
    }

    pub fn classes(self) -> &'static [&'static str] {
        match self {
            ImageData::Fashion => &fashion::CLASSES,
            ImageData::Emoji => &emoji::GROUPS,
        }
    }

    /// Channels and side of its images.
    pub fn shape(self) -> (usize, usize) {
        match self {
            ImageData::Fashion => (1, 28),
            ImageData::Emoji => (3, emoji::SIDE),
        }
    }

    /// The training images; `held_out` asks for the test split where the set has one
    /// (Fashion-MNIST's 10,000; the emoji font has one set only, returned either way).
    pub fn load(self, held_out: bool) -> Result<ImageSet> {
        match self {
            ImageData::Fashion => fashion::load(if held_out { "t10k" } else { "train" }),
            ImageData::Emoji => emoji::load(),
        }
    }
}
