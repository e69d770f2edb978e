//! The plots and CSV files of the DRA examples (`dra_gridworld`, `dra_planning`,
//! `dra_mountain_car`):
//!
//! - [`curves_svg`]: learning curves, mean ± s.e. bands, one or more stacked panels, and
//!   [`scatter_svg`]: scatter plots with fitted lines (both from the library's
//!   [`rlgrad::plots`], re-exported here);
//! - [`grid_maps_svg`]: heat maps on a grid world (obstacles, start and goal marked) with a
//!   colour bar;
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
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rlgrad::dra::{MeanSe, TrainingLog};
// Each example uses some of these (as with `dead_code` above).
#[allow(unused_imports)]
pub use rlgrad::plots::{Panel, ScatterGroup, Series, curves_svg, scatter_svg};

use super::cli::OutputFile;

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
