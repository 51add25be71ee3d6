//! `dg eval --report-only`: results.md and the SVG charts redrawn from a saved results.json
//! (a 20-sample cut of docs/eval/results.json), with no model and no sampling. Every chart
//! keeps its title, axis labels and legend as SVG text.
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::fixture;
use serde_json::Value;
use std::process::Command;

/// The text of every `<text>` element of an SVG document, trimmed and unescaped.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].to_string()))
        .map(|t| {
            t.trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn report_only_redraws_the_charts_with_their_labels_as_text() {
    let dir = std::env::temp_dir().join(format!("dg-eval-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("eval-results.json"), dir.join("results.json")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dg"))
        .args(["eval", "--report-only", "--out", dir.to_str().unwrap(), "--classifier", "/nonexistent"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["configs"].as_array().map(Vec::len), Some(17), "{summary}");

    let classes =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];
    let charts: [(&str, &str, &str, &str, &[&str]); 5] = [
        ("logp-vs-q.svg", "log p of samples against q", "q", "mean log p (nats)", &["DG", "PG", "plain ODE"]),
        (
            "logp-vs-png.svg",
            "log p against PNG size (Pearson r = ",
            "PNG bits per pixel",
            "log p (nats)",
            &["plain", "pg q=0.3", "pg q=0.7", "dg q=0.3", "dg q=0.7"],
        ),
        (
            "frechet-vs-logp.svg",
            "sample quality against log p",
            "mean log p (nats)",
            "Fréchet distance",
            &["DG", "PG", "plain", "sdg early q=0.5", "sdg late q=0.5"],
        ),
        (
            "logp-along-lambda.svg",
            "tracked log p along λ (mean of 20, Hutchinson)",
            "λ (log SNR)",
            "log p (nats)",
            &["plain", "dg q=0.3", "dg q=0.7", "sdg early q=0.5", "sdg late q=0.5"],
        ),
        ("logp-vs-q-per-class.svg", "DG: log p against q, per garment class", "q", "mean log p (nats)", &classes),
    ];
    for (file, title, x, y, legend) in charts {
        let svg = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{file}");
        let t = texts(&svg);
        assert!(t.iter().any(|s| s.starts_with(title)), "{file}: no title {title:?} in {t:?}");
        for label in [x, y].iter().chain(legend) {
            assert!(t.iter().any(|s| s == label), "{file}: no text {label:?} in {t:?}");
        }
        // tick labels: numbers on both axes
        assert!(t.iter().filter(|s| s.parse::<f64>().is_ok()).count() >= 6, "{file}: {t:?}");
    }
    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    assert!(md.contains("| dg q=0.7 |") && md.contains("![log p against q](logp-vs-q.svg)"));
    let _ = std::fs::remove_dir_all(&dir);
}
