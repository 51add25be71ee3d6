//! Small SVG charts for `dg eval`'s report: lines or dots with optional error bars, axes with
//! round ticks, a legend. Text stays text, so the figures read well in any browser or on GitHub.

use std::fmt::Write;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Half-widths of error bars, one per point.
    pub errors: Option<Vec<f64>>,
    pub dots: bool,
}

impl Series {
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, errors: None, dots: false }
    }
    pub fn dots(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series { name: name.into(), points, errors: None, dots: true }
    }
    pub fn with_errors(mut self, errors: Vec<f64>) -> Self {
        self.errors = Some(errors);
        self
    }
}

const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
/// Canvas size and the plot area's margins (left, right with the legend, top, bottom).
const W: f64 = 640.0;
const H: f64 = 400.0;
const L: f64 = 70.0;
const R: f64 = 170.0;
const T: f64 = 40.0;
const B: f64 = 50.0;

/// About five round tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() as i64;
    (start..).map(|k| k as f64 * step).take_while(|v| *v <= hi + 1e-9 * step).collect()
}

fn label(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-2) {
        format!("{v:.1e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

/// The chart as an SVG document.
pub fn chart(title: &str, xlabel: &str, ylabel: &str, series: &[Series]) -> String {
    let all = || series.iter().flat_map(|s| s.points.iter().enumerate().map(move |(i, p)| (s, i, p)));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (s, i, &(x, y)) in all().filter(|(_, _, p)| p.0.is_finite() && p.1.is_finite()) {
        let e = s.errors.as_ref().map_or(0.0, |e| e[i]);
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y - e), y1.max(y + e));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |a: f64, b: f64| if b - a > 0.0 { (b - a) * 0.05 } else { a.abs().max(1.0) * 0.05 };
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let (x0, x1, y0, y1) = (x0 - px, x1 + px, y0 - py, y1 + py);
    let sx = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let sy = |y: f64| H - B - (y - y0) / (y1 - y0) * (H - T - B);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        (W - R + L) / 2.0,
        escape(title)
    );
    let _ = writeln!(
        svg,
        "<rect x=\"{L}\" y=\"{T}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>",
        W - L - R,
        H - T - B
    );
    for v in ticks(x0, x1) {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
            sx(v),
            T,
            H - B,
            H - B + 16.0,
            label(v)
        );
    }
    for v in ticks(y0, y1) {
        let _ = writeln!(
            svg,
            "<line x1=\"{L}\" x2=\"{0}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
            W - R,
            sy(v),
            L - 5.0,
            sy(v) + 4.0,
            label(v)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (W - R + L) / 2.0,
        H - 12.0,
        escape(xlabel),
        (H - B + T) / 2.0,
        escape(ylabel)
    );
    for (k, s) in series.iter().enumerate() {
        let c = COLOURS[k % COLOURS.len()];
        let pts: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (sx(x), sy(y))).collect();
        if s.dots {
            for (x, y) in &pts {
                let _ =
                    writeln!(svg, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{c}\" fill-opacity=\"0.6\"/>");
            }
        } else {
            let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
                path.join(" ")
            );
            for (x, y) in &pts {
                let _ = writeln!(svg, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{c}\"/>");
            }
        }
        if let Some(errors) = &s.errors {
            for (&(x, y), e) in s.points.iter().zip(errors) {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{c}\"/>",
                    sx(x),
                    sy(y - e),
                    sy(y + e)
                );
            }
        }
        let ly = T + 10.0 + 18.0 * k as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            W - R + 12.0,
            ly - 10.0,
            W - R + 30.0,
            ly,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
