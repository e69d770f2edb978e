//! The plots and CSV files of the DRA examples (`dra_gridworld`, `dra_planning`,
//! `dra_mountain_car`):
//!
//! - [`curves_svg`]: learning curves, mean ± s.e. bands, one or more stacked panels;
//! - [`grid_maps_svg`]: heat maps on a grid world (obstacles, start and goal marked) with a
//!   colour bar;
//! - [`scatter_svg`]: scatter plots with fitted lines;
//! - [`write_csv`] and [`curve_rows`]: CSV files, one row per evaluation of every run.
//!
//! Every series has its own colour and marker; every chart a title, axis labels with units
//! and a legend. The SVG text is returned, to be written with
//! [`OutputFile::write`](super::cli::OutputFile::write).
//!
//! Compiled into each DRA example with `#[path = "common/dra_plots.rs"] mod dra_plots;`,
//! after `cli.rs`.
#![allow(dead_code)]

use std::error::Error;
use std::io::Write;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rlgrad::dra::{CurveSummary, MeanSe, TrainingLog};

use super::cli::OutputFile;

/// The series colours (Okabe–Ito, distinguishable by most colour-blind readers).
pub const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// One curve: mean ± s.e. at every x (s.e. 0 draws no band).
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// The abscissae.
    pub x: Vec<f64>,
    /// The means.
    pub mean: Vec<f64>,
    /// The standard errors.
    pub se: Vec<f64>,
}

impl Series {
    /// One quantity of a [`CurveSummary`] against its trials.
    pub fn of(label: impl Into<String>, summary: &CurveSummary, column: &[MeanSe]) -> Series {
        Series {
            label: label.into(),
            x: summary.trial.iter().map(|&t| t as f64).collect(),
            mean: column.iter().map(|m| m.mean).collect(),
            se: column.iter().map(|m| m.se).collect(),
        }
    }
}

/// One chart of [`curves_svg`]: its y-axis label and its series.
pub struct Panel {
    /// The y-axis label, with units.
    pub y_desc: String,
    /// The curves.
    pub series: Vec<Series>,
    /// The y range to show, if not the data's (what lies outside is cut off: say so in
    /// `y_desc`).
    pub y_range: Option<(f64, f64)>,
}

type Xy = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// The SVG text of stacked panels of curves sharing the x axis (`x_desc`, with units), each
/// curve a line with markers and a translucent mean ± s.e. band.
pub fn curves_svg(title: &str, x_desc: &str, panels: &[Panel]) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    {
        let height = 60 + 330 * panels.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 22))?;
        for (panel, area) in panels.iter().zip(root.split_evenly((panels.len(), 1))) {
            draw_panel(&area, x_desc, panel)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    x_desc: &str,
    panel: &Panel,
) -> Result<(), Box<dyn Error>> {
    let xs = panel.series.iter().flat_map(|s| s.x.iter().copied());
    let (x0, x1) = span(xs);
    let ys = panel
        .series
        .iter()
        .flat_map(|s| s.mean.iter().zip(&s.se).flat_map(|(m, e)| [m - e, m + e]));
    let (y0, y1) = panel.y_range.unwrap_or_else(|| span(ys));
    let pad = (y1 - y0).max(1e-9) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(panel.y_desc.as_str())
        // Trials and episodes are counts: no decimals on the x axis.
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    for (k, s) in panel.series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        if s.se.iter().any(|&e| e > 0.0) {
            let upper =
                s.x.iter()
                    .zip(s.mean.iter().zip(&s.se))
                    .map(|(&x, (m, e))| (x, m + e));
            let lower =
                s.x.iter()
                    .zip(s.mean.iter().zip(&s.se))
                    .map(|(&x, (m, e))| (x, m - e));
            let mut outline: Vec<(f64, f64)> = upper.collect();
            outline.extend(lower.rev());
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                colour.mix(0.18).filled(),
            )))?;
        }
        let points: Vec<(f64, f64)> = s.x.iter().copied().zip(s.mean.iter().copied()).collect();
        let stride = points.len().div_ceil(12).max(1);
        let marked: Vec<(f64, f64)> = points.iter().copied().step_by(stride).collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(2))
                    + marker(k, (12, 0), colour)
            });
        chart.draw_series(
            marked
                .into_iter()
                .map(|p| EmptyElement::at(p) + marker(k, (0, 0), colour)),
        )?;
    }
    legend(&mut chart)
}

/// The legend box of a chart.
fn legend<'a, DB>(chart: &mut ChartContext<'a, DB, Xy>) -> Result<(), Box<dyn Error>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The marker of series `k`, centred at `at` (pixel offsets): circle, triangle, square,
/// cross, in turn, filled for the first four series and hollow after.
fn marker<DB: DrawingBackend>(
    k: usize,
    at: (i32, i32),
    colour: RGBColor,
) -> DynElement<'static, DB, (i32, i32)> {
    let style = if k < 4 {
        colour.filled()
    } else {
        colour.stroke_width(2)
    };
    match k % 4 {
        0 => Circle::new(at, 4, style).into_dyn(),
        1 => TriangleMarker::new(at, 5, style).into_dyn(),
        2 => Rectangle::new([(at.0 - 4, at.1 - 4), (at.0 + 4, at.1 + 4)], style).into_dyn(),
        _ => Cross::new(at, 4, colour.stroke_width(2)).into_dyn(),
    }
}

/// The smallest and largest finite value (0..1 for none; a width of at least 1e-9).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// One heat map of [`grid_maps_svg`]: a value per cell of a `rows × cols` grid, row 0 at the
/// top; obstacle cells are drawn grey and hatched, whatever their value.
pub struct GridPanel {
    /// The panel's caption.
    pub caption: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The value of each cell (`row * cols + col`).
    pub value: Vec<f64>,
    /// Which cells are obstacles.
    pub obstacle: Vec<bool>,
    /// The start cell `[row, col]`.
    pub start: [usize; 2],
    /// The goal cell.
    pub goal: [usize; 2],
}

/// The SVG text of grid heat maps side by side on one colour scale from `lo` to `hi`, with a
/// colour bar labelled `unit`.
pub fn grid_maps_svg(
    title: &str,
    unit: &str,
    panels: &[GridPanel],
    (lo, hi): (f64, f64),
) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    {
        let width = 150 + 470 * panels.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (width, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 20))?;
        let (maps, bar) = root.split_horizontally(width - 150);
        for (panel, area) in panels.iter().zip(maps.split_evenly((1, panels.len()))) {
            draw_grid(&area, panel, (lo, hi))?;
        }
        colour_bar(&bar, unit, (lo, hi))?;
        root.present()?;
    }
    Ok(svg)
}

fn draw_grid(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    p: &GridPanel,
    (lo, hi): (f64, f64),
) -> Result<(), Box<dyn Error>> {
    let (rows, cols) = (p.rows as f64, p.cols as f64);
    let mut chart = ChartBuilder::on(area)
        .caption(p.caption.as_str(), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(45)
        .build_cartesian_2d(0.0..cols, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(2 * p.cols + 1)
        .y_labels(2 * p.rows + 1)
        .x_label_formatter(&|v| centre_label(*v, |c| c))
        .y_label_formatter(&|v| centre_label(*v, |r| rows - 1.0 - r))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .x_desc("column")
        .y_desc("row")
        .draw()?;
    for r in 0..p.rows {
        for c in 0..p.cols {
            let i = r * p.cols + c;
            let (x, y) = (c as f64, rows - r as f64 - 1.0);
            let cell = [(x, y), (x + 1.0, y + 1.0)];
            if p.obstacle[i] {
                chart.draw_series(std::iter::once(Rectangle::new(
                    cell,
                    RGBColor(90, 90, 90).filled(),
                )))?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, y), (x + 1.0, y + 1.0)],
                    WHITE.stroke_width(1),
                )))?;
            } else {
                let fill = ramp((p.value[i] - lo) / (hi - lo).max(1e-12));
                chart.draw_series(std::iter::once(Rectangle::new(cell, fill.filled())))?;
            }
            chart.draw_series(std::iter::once(Rectangle::new(cell, BLACK.mix(0.3))))?;
        }
    }
    for (cell, text) in [(p.start, "S"), (p.goal, "G")] {
        let (x, y) = (cell[1] as f64 + 0.5, rows - cell[0] as f64 - 0.5);
        chart.draw_series(std::iter::once(Circle::new((x, y), 13, WHITE.filled())))?;
        chart.draw_series(std::iter::once(Text::new(
            text,
            (x, y),
            ("sans-serif", 18)
                .into_font()
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
    }
    Ok(())
}

/// The label of a cell's centre (a coordinate ending in .5: the cell `index(⌊v⌋)`), none
/// elsewhere.
fn centre_label(v: f64, index: impl Fn(f64) -> f64) -> String {
    if (v.fract() - 0.5).abs() < 1e-9 {
        format!("{}", index(v.floor()))
    } else {
        String::new()
    }
}

/// The colour bar: the ramp from `lo` (bottom) to `hi` (top), labelled `unit`, with a note
/// on the markings.
fn colour_bar(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    unit: &str,
    (lo, hi): (f64, f64),
) -> Result<(), Box<dyn Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(40)
        .margin_bottom(50)
        .margin_right(10)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .y_desc(unit)
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()?;
    let steps = 64;
    chart.draw_series((0..steps).map(|k| {
        let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
        Rectangle::new(
            [(0.0, lo + a * (hi - lo)), (1.0, lo + b * (hi - lo))],
            ramp(a).filled(),
        )
    }))?;
    area.draw(&Text::new(
        "grey: obstacle",
        (5, area.dim_in_pixel().1 as i32 - 40),
        ("sans-serif", 12),
    ))?;
    area.draw(&Text::new(
        "S start, G goal",
        (5, area.dim_in_pixel().1 as i32 - 24),
        ("sans-serif", 12),
    ))?;
    Ok(())
}

/// A perceptually ordered colour ramp (viridis anchors, linear between them) at t ∈ [0, 1].
pub fn ramp(t: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (ANCHORS.len() - 1) as f64;
    let k = (pos.floor() as usize).min(ANCHORS.len() - 2);
    let f = pos - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (ANCHORS[k], ANCHORS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// One group of [`scatter_svg`]: points and an optional fitted line (intercept, slope).
pub struct ScatterGroup {
    /// The legend's text.
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// The fitted line y = intercept + slope · x, drawn over the group's x range.
    pub line: Option<(f64, f64)>,
}

/// The SVG text of a scatter plot: each group its colour and marker, its line dashed.
pub fn scatter_svg(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    groups: &[ScatterGroup],
) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let (x0, x1) = span(groups.iter().flat_map(|g| g.points.iter().map(|p| p.0)));
        let (y0, y1) = span(groups.iter().flat_map(|g| g.points.iter().map(|p| p.1)));
        let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.08);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (k, g) in groups.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            chart
                .draw_series(
                    g.points
                        .iter()
                        .map(|&p| EmptyElement::at(p) + marker(k, (0, 0), colour)),
                )?
                .label(g.label.as_str())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], colour.stroke_width(2))
                        + marker(k, (12, 0), colour)
                });
            if let Some((a, b)) = g.line {
                let (lx0, lx1) = span(g.points.iter().map(|p| p.0));
                chart.draw_series(DashedLineSeries::new(
                    [(lx0, a + b * lx0), (lx1, a + b * lx1)],
                    8,
                    5,
                    colour.stroke_width(2),
                ))?;
            }
        }
        legend(&mut chart)?;
        root.present()?;
    }
    Ok(svg)
}

/// Writes a CSV file atomically: the header, then the rows (the fields are numbers and
/// plain names: nothing needs quoting).
pub fn write_csv(file: &OutputFile, header: &[&str], rows: &[Vec<String>]) -> Result<(), String> {
    file.write(|w| -> std::io::Result<()> {
        writeln!(w, "{}", header.join(","))?;
        for row in rows {
            writeln!(w, "{}", row.join(","))?;
        }
        Ok(())
    })
}

/// The CSV rows `key,run,trial,return,cost,objective` of runs: one per evaluation of each run
/// (`run` counts from 1 in the order of `logs`).
pub fn curve_rows(key: &str, logs: &[TrainingLog]) -> Vec<Vec<String>> {
    logs.iter()
        .enumerate()
        .flat_map(|(run, log)| {
            log.curve.iter().map(move |p| {
                vec![
                    key.to_string(),
                    (run + 1).to_string(),
                    p.trial.to_string(),
                    p.return_mean.to_string(),
                    p.cost.to_string(),
                    p.objective.to_string(),
                ]
            })
        })
        .collect()
}

/// `mean ± se` with `digits` decimals.
pub fn pm(m: MeanSe, digits: usize) -> String {
    format!("{:.digits$} ± {:.digits$}", m.mean, m.se)
}

/// The mean ± s.e. across runs of their last evaluation.
#[derive(Clone, Copy)]
pub struct Finals {
    /// The return.
    pub ret: MeanSe,
    /// The cost λ·KL.
    pub cost: MeanSe,
    /// The objective.
    pub objective: MeanSe,
}

impl Finals {
    /// The last evaluations of `logs`.
    pub fn of(logs: &[TrainingLog]) -> Result<Finals, rlgrad::Error> {
        let pick = |f: fn(&rlgrad::dra::EvalPoint) -> f64| {
            MeanSe::of(
                &logs
                    .iter()
                    .filter_map(|l| l.last().map(f))
                    .collect::<Vec<_>>(),
            )
        };
        Ok(Finals {
            ret: pick(|p| p.return_mean)?,
            cost: pick(|p| p.cost)?,
            objective: pick(|p| p.objective)?,
        })
    }
}
