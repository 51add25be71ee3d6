//! Noto Color Emoji as a colour image data set: the font's own bitmaps (PNGs in its CBDT
//! table), found through its character map and ligatures for each fully-qualified sequence of
//! Unicode's `emoji-test.txt`, labelled with that file's group, composited on white and
//! resized to `side × side` RGB. Font: SIL OFL 1.1; artwork: Apache-2.0 (Debian's
//! `fonts-noto-color-emoji`); `emoji-test.txt` from Debian's `unicode-data`.
//!
//! A sequence reaches its glyph by shaping (rustybuzz): single code points through the cmap,
//! ZWJ sequences, flags and skin tones through the font's GSUB ligatures. A sequence that
//! shapes to anything but one bitmap glyph is skipped, and each bitmap is kept once.

use crate::data::images::ImageSet;
use crate::error::{Error, Result};
use image::imageops::{FilterType, overlay, resize};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use rustybuzz::ttf_parser::{GlyphId, RasterImageFormat};
use std::collections::HashSet;

/// Where Debian puts the font and the emoji list.
pub const FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
pub const EMOJI_TEST: &str = "/usr/share/unicode/emoji/emoji-test.txt";

/// The groups of `emoji-test.txt` that hold emoji (its tenth, "Component", holds the skin
/// tone and hair swatches, which are not pictures of their own).
pub const GROUPS: [&str; 9] = [
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
];

/// The side the shipped model works at.
pub const SIDE: usize = 32;

/// The data set from `$DG_EMOJI_FONT` / `$DG_EMOJI_TEST`, or Debian's files.
pub fn load() -> Result<ImageSet> {
    let font = std::env::var("DG_EMOJI_FONT").unwrap_or_else(|_| FONT.to_string());
    let list = std::env::var("DG_EMOJI_TEST").unwrap_or_else(|_| EMOJI_TEST.to_string());
    read(&font, &list, SIDE)
}

/// Each fully-qualified sequence of an `emoji-test.txt` with its group in [`GROUPS`].
pub fn sequences(text: &str) -> Vec<(String, usize)> {
    let mut group = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# group:") {
            group = GROUPS.iter().position(|g| *g == name.trim());
            continue;
        }
        let (Some(g), Some((code, rest))) = (group, line.split_once(';')) else { continue };
        if line.starts_with('#') || rest.split('#').next().map(str::trim) != Some("fully-qualified") {
            continue;
        }
        let text: Option<String> =
            code.split_whitespace().map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32)).collect();
        if let Some(text) = text {
            out.push((text, g));
        }
    }
    out
}

/// The bitmaps of `font` reached by the sequences of `list`, at `side × side`.
pub fn read(font: &str, list: &str, side: usize) -> Result<ImageSet> {
    let bad = |path: &str, reason: String| Error::Input { path: path.into(), reason };
    let bytes = std::fs::read(font).map_err(|e| bad(font, format!("{e} (install Debian's fonts-noto-color-emoji)")))?;
    let text = std::fs::read_to_string(list).map_err(|e| bad(list, format!("{e} (install Debian's unicode-data)")))?;
    let face = rustybuzz::Face::from_slice(&bytes, 0).ok_or_else(|| bad(font, "not a font file".into()))?;
    let (mut glyphs, mut bitmaps) = (HashSet::new(), HashSet::new());
    let mut set = ImageSet { channels: 3, side, pixels: Vec::new(), labels: Vec::new(), classes: &GROUPS };
    for (sequence, group) in sequences(&text) {
        let Some(glyph) = bitmap_glyph(&face, &sequence) else { continue };
        if !glyphs.insert(glyph) {
            continue;
        }
        let raster = face.glyph_raster_image(glyph, u16::MAX).expect("checked by bitmap_glyph");
        if raster.format != RasterImageFormat::PNG || !bitmaps.insert(raster.data.to_vec()) {
            continue;
        }
        let picture = image::load_from_memory_with_format(raster.data, image::ImageFormat::Png)
            .map_err(|e| bad(font, format!("glyph {}: {e}", glyph.0)))?;
        set.pixels.extend(channel_major(&on_white(&picture.to_rgba8(), side)));
        set.labels.push(group as u8);
    }
    if set.is_empty() {
        return Err(bad(font, format!("no colour bitmap is reached by the sequences of {list}")));
    }
    Ok(set)
}

/// The one glyph with a bitmap that `sequence` shapes to, if it shapes to exactly one.
fn bitmap_glyph(face: &rustybuzz::Face, sequence: &str) -> Option<GlyphId> {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(sequence);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(face, &[], buffer);
    let mut with_bitmap = shaped
        .glyph_infos()
        .iter()
        .map(|info| GlyphId(info.glyph_id as u16))
        .filter(|&g| face.glyph_raster_image(g, u16::MAX).is_some());
    let glyph = with_bitmap.next()?;
    with_bitmap.next().is_none().then_some(glyph)
}

/// An RGBA bitmap composited on white, centred on a white square, resized to `side`.
fn on_white(picture: &RgbaImage, side: usize) -> RgbImage {
    let (w, h) = picture.dimensions();
    let square = w.max(h);
    let mut canvas = RgbaImage::from_pixel(square, square, Rgba([255, 255, 255, 255]));
    overlay(&mut canvas, picture, i64::from((square - w) / 2), i64::from((square - h) / 2));
    let small = resize(&canvas, side as u32, side as u32, FilterType::Triangle);
    RgbImage::from_fn(side as u32, side as u32, |x, y| {
        let p = small.get_pixel(x, y);
        Rgb([p[0], p[1], p[2]])
    })
}

/// C×H×W values in [-1, 1].
fn channel_major(picture: &RgbImage) -> Vec<f32> {
    (0..3).flat_map(|c| picture.pixels().map(move |p| p[c] as f32 / 127.5 - 1.0)).collect()
}
