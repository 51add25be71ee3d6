//! `dg eval`'s SVG charts, drawn by plotters: lines or dots with optional error bars, a
//! titled frame with labelled axes and a grid at the ticks, a legend to the right. Text stays
//! text (no font is read, and none is embedded), so the figures read well in any browser or on
//! GitHub.

use plotters::prelude::*;

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

    /// The finite points with their error bars' half-widths (0 without).
    fn finite(&self) -> impl Iterator<Item = ((f64, f64), f64)> + '_ {
        let e = |i: usize| self.errors.as_ref().and_then(|e| e.get(i).copied()).filter(|e| e.is_finite());
        self.points
            .iter()
            .enumerate()
            .map(move |(i, &p)| (p, e(i).unwrap_or(0.0)))
            .filter(|((x, y), _)| x.is_finite() && y.is_finite())
    }
}

/// The ten colours of matplotlib's "tab10", in turn.
const COLOURS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];
/// Canvas size, and the width of the legend's column on the right.
const W: u32 = 640;
const H: u32 = 400;
const LEGEND: u32 = 170;
/// Font sizes in plotters' whole pixels (SVG `font-size` is this over 1.24: 12.1 and 14.5).
const TEXT: f64 = 15.0;
const TITLE: f64 = 18.0;
const FONT: &str = "sans-serif";

/// The data's range in one axis, widened by 5 % each side (or around a single value).
fn range(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.05 };
    lo - pad..hi + pad
}

/// A tick value: four decimals at most, exponent form for the very large or small.
fn tick(v: &f64) -> String {
    let v = *v;
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-2) {
        format!("{v:.1e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

/// The chart as an SVG document.
pub fn chart(title: &str, xlabel: &str, ylabel: &str, series: &[Series]) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, title, xlabel, ylabel, series).map_err(|e| e.to_string())?;
    Ok(svg)
}

fn draw(
    svg: &mut String,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[Series],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for ((x, y), e) in series.iter().flat_map(Series::finite) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y - e), y1.max(y + e));
    }
    let root = SVGBackend::with_string(svg, (W, H)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(W - LEGEND);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, (FONT, TITLE))
        .margin_top(8)
        .margin_left(8)
        .margin_right(8)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(range(x0, x1), range(y0, y1))?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc(ylabel)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, TEXT))
        .axis_desc_style((FONT, TEXT))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(0x44, 0x44, 0x44))
        .draw()?;
    // the frame's top and right sides (the mesh draws the axes, left and bottom)
    let (xs, ys) = (chart.x_range(), chart.y_range());
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(xs.start, ys.end), (xs.end, ys.end), (xs.end, ys.start)],
        RGBColor(0x44, 0x44, 0x44),
    )))?;
    for (k, s) in series.iter().enumerate() {
        let c = COLOURS[k % COLOURS.len()];
        let pts: Vec<(f64, f64)> = s.finite().map(|(p, _)| p).collect();
        if s.dots {
            // a cloud in small translucent dots; a few points (single markers) larger
            let r = if pts.len() < 5 { 4 } else { 2 };
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, r, c.mix(0.6).filled())))?;
        } else {
            chart.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
        if s.errors.is_some() {
            chart.draw_series(s.finite().map(|((x, y), e)| ErrorBar::new_vertical(x, y - e, y, y + e, c, 6)))?;
        }
        let ly = 40 + 18 * k as i32;
        legend.draw(&Rectangle::new([(12, ly), (24, ly + 12)], c.filled()))?;
        legend.draw(&Text::new(
            s.name.as_str(),
            (30, ly + 6),
            TextStyle::from((FONT, TEXT).into_font()).pos(text_anchor_left()),
        ))?;
    }
    root.present()
}

/// Text whose left end, vertically centred, is at its position.
fn text_anchor_left() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Left, VPos::Center)
}
