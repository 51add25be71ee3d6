//! The emoji data set read from a committed subset of the font: which sequences reach a
//! bitmap (cmap, ZWJ and flag ligatures, skin tones, keycaps), their groups, and their colours,
//! against a reference written by a second implementation (fontTools + Pillow,
//! tests/fixtures/emoji/reference.json); how classes are named on the command line, and the
//! page's copy of each data set's shape and class names.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

use dg::data::emoji::{GROUPS, read};
use dg::data::{ImageData, parse_class};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/emoji");

fn reference() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(format!("{DIR}/reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["emoji"].as_array().unwrap().clone()
}

fn fixture(side: usize) -> dg::data::ImageSet {
    read(&format!("{DIR}/noto-color-emoji-subset.ttf"), &format!("{DIR}/emoji-test-subset.txt"), side).unwrap()
}

#[test]
fn every_fully_qualified_sequence_reaches_its_bitmap_once_with_its_group() {
    let set = fixture(32);
    let reference = reference();
    // 12 fully-qualified lines; the unqualified and component lines are not emoji of their own
    assert_eq!(set.len(), reference.len());
    assert_eq!((set.channels, set.side, set.dim(), set.classes.len()), (3, 32, 3072, 9));
    let groups: Vec<u64> = reference.iter().map(|e| e["group"].as_u64().unwrap()).collect();
    let labels: Vec<u64> = set.labels.iter().map(|&l| u64::from(l)).collect();
    assert_eq!(labels, groups);
    assert_eq!(set.null_label(), GROUPS.len());
    for i in 0..set.len() {
        for j in 0..i {
            assert_ne!(set.row(i), set.row(j), "images {i} and {j} are the same bitmap");
        }
    }
}

#[test]
fn colours_match_the_second_implementation() {
    let set = fixture(32);
    let plane = 32 * 32;
    let mut worst = 0f64;
    for (i, e) in reference().iter().enumerate() {
        let row = set.row(i);
        assert!(row.iter().all(|v| (-1.0..=1.0).contains(v)));
        for c in 0..3 {
            let mean = row[c * plane..][..plane].iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64;
            let want = e["mean_rgb"][c].as_f64().unwrap();
            worst = worst.max((mean - want).abs());
            // resizing keeps a picture's mean colour; 0.005 of the [-1, 1] range allows for the
            // filter's edges and 8-bit rounding (measured at most 0.0004)
            assert!((mean - want).abs() < 0.005, "{}: channel {c} mean {mean:.4}, reference {want:.4}", e["sequence"]);
        }
        // composited on white: the corners of every picture are white
        for p in [0, 31, plane - 32, plane - 1] {
            assert!((0..3).all(|c| row[c * plane + p] > 0.99), "{}: corner pixel {p} is not white", e["sequence"]);
        }
    }
    eprintln!("largest difference of a mean colour from the reference: {worst:.4}");
}

#[test]
fn a_missing_font_or_list_is_an_error_naming_it() {
    let err = read("/nonexistent/font.ttf", &format!("{DIR}/emoji-test-subset.txt"), 32).err().unwrap();
    assert!(err.to_string().contains("/nonexistent/font.ttf"), "{err}");
    let list = format!("{DIR}/LICENSE.md"); // no emoji lines: nothing reached
    let err = read(&format!("{DIR}/noto-color-emoji-subset.ttf"), &list, 32).err().unwrap();
    assert!(err.to_string().contains("no colour bitmap"), "{err}");
}

#[test]
fn classes_by_number_name_first_word_or_none() {
    assert_eq!(parse_class("3", &GROUPS).unwrap(), 3);
    assert_eq!(parse_class("food & drink", &GROUPS).unwrap(), 3);
    assert_eq!(parse_class("flags", &GROUPS).unwrap(), 8);
    assert_eq!(parse_class("none", &GROUPS).unwrap(), GROUPS.len(), "the null label");
    assert!(parse_class("9", &GROUPS).is_err() && parse_class("pizza", &GROUPS).is_err());
    // a weights file of unknown data: numbers only, and 'none' is not silently class 0
    assert_eq!(parse_class("7", &[]).unwrap(), 7);
    assert!(parse_class("none", &[]).is_err());
    // spaces and hyphens alike, as a shell user types them
    let fashion = dg::data::fashion::CLASSES;
    assert_eq!(parse_class("ankle-boot", &fashion).unwrap(), 9);
    assert_eq!(parse_class("Ankle Boot", &fashion).unwrap(), 9);
    assert_eq!(parse_class("t shirt", &fashion).unwrap(), 0);
}

/// The page's copy of each image data set (www/models.js: channels, side and class names, as
/// its class control and drawing need them before any wasm loads) against the library's.
#[test]
fn the_page_describes_each_image_data_set_as_the_library_does() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/models.js")).unwrap();
    let number = |block: &str, key: &str| -> usize {
        let rest = &block[block.find(&format!("{key}: ")).unwrap_or_else(|| panic!("no {key}")) + key.len() + 2..];
        rest[..rest.find(',').unwrap()].trim().parse().unwrap()
    };
    for data in ImageData::ALL {
        let start = page.find(&format!("\n  {}: {{", data.name())).unwrap_or_else(|| panic!("{} missing", data.name()));
        let block = &page[start..start + page[start..].find("\n  },").unwrap()];
        let list = &block[block.find("classes: [").unwrap()..];
        let list = &list[..list.find(']').unwrap()];
        let names: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
        assert_eq!(names, data.classes(), "{}: class names", data.name());
        assert_eq!((number(block, "channels"), number(block, "side")), data.shape(), "{}: shape", data.name());
    }
}
