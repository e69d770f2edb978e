//! SVG plots of population fits (feature `plots`, on by default; the core builds without it
//! and without `plotters` under `--no-default-features`).
//!
//! | function | plot |
//! |---|---|
//! | [`recovery_scatter_svg`] | true vs fitted per parameter, identity line, r in each panel's title |
//! | [`em_trace_svg`] | the EM trace: summed log posterior, and μ per parameter, vs iteration |
//! | [`comparison_svg`] | a bar chart of a criterion per model, relative to the best |
//! | [`confusion_svg`] | the model-recovery confusion matrix as a heat map with counts |
//! | [`curves_svg`] | learning curves (mean ± s.e. bands), one or more stacked panels |
//! | [`scatter_svg`] | groups of points, each with an optional fitted line |
//!
//! Each returns the SVG text, to write where you like (the examples write it atomically: a
//! temporary file renamed into place).
//! Every chart has a title, labelled axes with units, and distinguishable series (the
//! Okabe–Ito colours, each series its own marker).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::dra::{CurveSummary, MeanSe};
use crate::error::{Error, Result};
use crate::fit::{Comparison, Criterion, EmIteration, ModelRecovery, ParameterRecovery, Scale};

/// The series colours (Okabe–Ito, distinguishable by most colour-blind readers).
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// The colour of series `k` (the palette in turn).
fn colour(k: usize) -> RGBColor {
    COLOURS[k % COLOURS.len()]
}

fn plot_err(what: &str) -> impl Fn(Box<dyn std::error::Error + '_>) -> Error + '_ {
    move |e| Error::Plot {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

/// Runs a drawing closure, turning plotters' errors into [`Error::Plot`].
fn draw<F>(what: &str, size: (u32, u32), f: F) -> Result<String>
where
    F: FnOnce(
        &DrawingArea<SVGBackend<'_>, Shift>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let result = root
            .fill(&WHITE)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            .and_then(|()| f(&root))
            .and_then(|()| {
                root.present()
                    .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            });
        result.map_err(plot_err(what))?;
    }
    Ok(svg)
}

/// The smallest and largest finite value, padded by `pad` of the width: 0..1 for none, and
/// ±0.5 around a single value (a width under 1e-9).
fn span(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
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
        let w = hi - lo;
        (lo - pad * w, hi + pad * w)
    }
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

/// The legend box of a chart at `position`, its labels in `font_size`.
fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// True vs fitted values of every parameter on `scale`, one panel per parameter (side by
/// side), each with the identity line and r, bias and RMSE in its title. Failed subjects are
/// left out (their count is in the figure's title).
///
/// # Errors
/// [`Error::Plot`] if the drawing fails.
pub fn recovery_scatter_svg(rec: &ParameterRecovery, scale: Scale) -> Result<String> {
    let k = rec.names.len();
    let unit = match scale {
        Scale::Theta => "θ, unconstrained",
        Scale::Natural => "natural scale",
    };
    let width = 40 + 420 * k.max(1) as u32;
    draw("recovery scatter", (width, 480), |root| {
        let title = format!(
            "Parameter recovery ({unit}): {} subjects, {} failed",
            rec.subjects.len(),
            rec.n_failed()
        );
        let root = root.titled(&title, ("sans-serif", 20))?;
        let panels = root.split_evenly((1, k.max(1)));
        for (i, area) in panels.iter().enumerate().take(k) {
            let (x, y) = rec.pairs(i, scale);
            let Some(s) = rec.stats(scale).get(i) else {
                break;
            };
            let (lo, hi) = span(x.iter().chain(y.iter()).copied(), 0.06);
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!(
                        "{}: r = {:.2}, bias {:+.2}, RMSE {:.2}",
                        s.name, s.correlation, s.bias, s.rmse
                    ),
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(lo..hi, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc(format!("true {} ({unit})", s.name))
                .y_desc(format!("fitted {} ({unit})", s.name))
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 14))
                .draw()?;
            chart
                .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))?
                .label("identity y = x")
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], BLACK));
            let colour = COLOURS[0];
            chart
                .draw_series(
                    x.iter()
                        .zip(&y)
                        .map(|(&a, &b)| Circle::new((a, b), 3, colour.mix(0.7).filled())),
                )?
                .label("subject")
                .legend(move |(a, b)| Circle::new((a + 10, b), 3, colour.filled()));
            legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)?;
        }
        Ok(())
    })
}

/// The EM trace: the summed log posterior against the iteration (top), and μ of each
/// parameter (bottom, θ units, one series per parameter, named by `names`).
///
/// # Errors
/// [`Error::Plot`] for an empty trace or a failed drawing.
pub fn em_trace_svg(trace: &[EmIteration], names: &[String]) -> Result<String> {
    if trace.is_empty() {
        return Err(Error::Plot {
            what: "EM trace".into(),
            reason: "the trace is empty".into(),
        });
    }
    draw("EM trace", (900, 720), |root| {
        let root = root.titled(
            &format!("EM trace: {} iterations", trace.len()),
            ("sans-serif", 20),
        )?;
        let (top, bottom) = root.split_vertically(340);
        let n = trace.len() as f64;
        let x_range = -0.5..(n - 0.5).max(0.5);
        let (y0, y1) = span(trace.iter().map(|t| t.log_posterior), 0.06);
        let mut chart = ChartBuilder::on(&top)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range.clone(), y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("Σᵢ log posterior (nats)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        let pts: Vec<(f64, f64)> = trace
            .iter()
            .map(|t| (t.iteration as f64, t.log_posterior))
            .collect();
        let c = COLOURS[0];
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
            .label("summed log posterior")
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        legend(&mut chart, SeriesLabelPosition::LowerRight, 12)?;

        let k = trace[0].mu.len();
        let (m0, m1) = span(trace.iter().flat_map(|t| t.mu.iter().copied()), 0.08);
        let mut chart = ChartBuilder::on(&bottom)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range, m0..m1)?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("group mean μ (θ units)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        for j in 0..k {
            let c = colour(j);
            let pts: Vec<(f64, f64)> = trace
                .iter()
                .map(|t| (t.iteration as f64, t.mu[j]))
                .collect();
            let label = names.get(j).cloned().unwrap_or_else(|| format!("θ[{j}]"));
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
                .label(format!("μ {label}"))
                .legend(move |(a, b)| {
                    EmptyElement::at((a, b))
                        + PathElement::new(vec![(0, 0), (20, 0)], c.stroke_width(2))
                        + marker(j, (10, 0), c)
                });
            chart.draw_series(
                pts.iter()
                    .map(|&p| EmptyElement::at(p) + marker(j, (0, 0), c)),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 12)?;
        Ok(())
    })
}

/// A bar chart of `criterion` per model, as the difference from the best model (0 for the
/// best; for Laplace evidence, best − model, so that taller is always worse), the best bar
/// in a colour of its own.
///
/// # Errors
/// [`Error::Plot`] for no models or a failed drawing.
pub fn comparison_svg(cmp: &Comparison, criterion: Criterion) -> Result<String> {
    if cmp.models.is_empty() {
        return Err(Error::Plot {
            what: "model comparison".into(),
            reason: "no models".into(),
        });
    }
    let (best, best_name) = cmp.best(criterion);
    let best_value = cmp.models[best].value(criterion);
    let deltas: Vec<f64> = cmp
        .models
        .iter()
        .map(|m| {
            let d = m.value(criterion) - best_value;
            if criterion == Criterion::Laplace {
                -d
            } else {
                d
            }
        })
        .collect();
    let name = criterion.name();
    draw("model comparison", (820, 480), |root| {
        let n = deltas.len();
        let top = deltas.iter().copied().fold(0.0_f64, f64::max).max(1.0) * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Model comparison by {name}: best `{best_name}`"),
                ("sans-serif", 20),
            )
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..top)?;
        let names: Vec<String> = cmp.models.iter().map(|m| m.name.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("model")
            .y_desc(if criterion == Criterion::Laplace {
                "best − model, summed Laplace log evidence (nats)".to_string()
            } else {
                format!("Δ{name} from the best model (deviance units)")
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        for (i, &d) in deltas.iter().enumerate() {
            let c = if i == best { COLOURS[2] } else { COLOURS[0] };
            let x = i as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.3, 0.0), (x + 0.3, d)],
                c.filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{d:.1}"),
                (x - 0.1, d + top * 0.02),
                ("sans-serif", 13),
            )))?;
        }
        let (g, b) = (COLOURS[2], COLOURS[0]);
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("best model")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], g.filled()));
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("other models")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], b.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)?;
        Ok(())
    })
}

/// The model-recovery confusion matrix: rows the generating model, columns the winning
/// one; each cell shaded by its row fraction (white 0 to blue 1) and labelled with its count
/// and fraction.
///
/// # Errors
/// [`Error::Plot`] for an empty matrix or a failed drawing.
pub fn confusion_svg(rec: &ModelRecovery) -> Result<String> {
    let m = rec.names.len();
    if m == 0 {
        return Err(Error::Plot {
            what: "confusion matrix".into(),
            reason: "no models".into(),
        });
    }
    let fr = rec.fractions();
    let per_row = rec.counts.row(0).sum();
    draw(
        "confusion matrix",
        (200 + 150 * m as u32, 140 + 110 * m as u32),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .caption(
                    format!(
                        "Model recovery by {} ({} cohorts per generating model)",
                        rec.criterion.name(),
                        per_row
                    ),
                    ("sans-serif", 18),
                )
                .margin(14)
                .x_label_area_size(50)
                .y_label_area_size(110)
                .build_cartesian_2d(0.0..m as f64, 0.0..m as f64)?;
            let names = rec.names.clone();
            let label = move |v: &f64| {
                let i = v.floor();
                if (v - i - 0.5).abs() < 1e-6 && (i as usize) < names.len() {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            };
            let names_y = rec.names.clone();
            let label_y = move |v: &f64| {
                let i = v.floor();
                // Row 0 at the top.
                let row = m as f64 - 1.0 - i;
                if (v - i - 0.5).abs() < 1e-6 && row >= 0.0 && (row as usize) < names_y.len() {
                    names_y[row as usize].clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(2 * m + 1)
                .y_labels(2 * m + 1)
                .x_label_formatter(&label)
                .y_label_formatter(&label_y)
                .x_desc("winning model (count, row fraction)")
                .y_desc("generating model")
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 14))
                .draw()?;
            for g in 0..m {
                for w in 0..m {
                    let f = fr[[g, w]];
                    let y = (m - 1 - g) as f64;
                    let shade = |c: u8| (255.0 - f * (255.0 - c as f64)).round() as u8;
                    let colour = RGBColor(shade(0), shade(114), shade(178));
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(w as f64, y), (w as f64 + 1.0, y + 1.0)],
                        colour.filled(),
                    )))?;
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(w as f64, y), (w as f64 + 1.0, y + 1.0)],
                        BLACK.stroke_width(1),
                    )))?;
                    let text_colour = if f > 0.55 { WHITE } else { BLACK };
                    chart.draw_series(std::iter::once(Text::new(
                        format!("{} ({:.2})", rec.counts[[g, w]], f),
                        (w as f64 + 0.3, y + 0.55),
                        ("sans-serif", 15).into_font().color(&text_colour),
                    )))?;
                }
            }
            Ok(())
        },
    )
}

/// One curve of [`curves_svg`]: mean ± s.e. at every x (an s.e. of 0 everywhere draws no
/// band).
#[derive(Clone, Debug)]
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
    /// One quantity of a [`CurveSummary`] (`column`, one of its fields) against its trials.
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
#[derive(Clone, Debug)]
pub struct Panel {
    /// The y-axis label, with units.
    pub y_desc: String,
    /// The curves.
    pub series: Vec<Series>,
    /// The y range to show, if not the data's (what lies outside is cut off: say so in
    /// `y_desc`).
    pub y_range: Option<(f64, f64)>,
}

/// Learning curves: stacked panels sharing the x axis (`x_desc`, with units; labelled as
/// counts, without decimals), each curve a line with markers (at most about 12 per curve)
/// and a translucent mean ± s.e. band, each series its own colour and marker.
///
/// # Errors
/// [`Error::Plot`] if the drawing fails.
pub fn curves_svg(title: &str, x_desc: &str, panels: &[Panel]) -> Result<String> {
    let height = 60 + 330 * panels.len() as u32;
    draw("learning curves", (900, height), |root| {
        let root = root.titled(title, ("sans-serif", 22))?;
        for (panel, area) in panels.iter().zip(root.split_evenly((panels.len(), 1))) {
            draw_panel(&area, x_desc, panel)?;
        }
        Ok(())
    })
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    x_desc: &str,
    panel: &Panel,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let xs = panel.series.iter().flat_map(|s| s.x.iter().copied());
    let (x0, x1) = span(xs, 0.0);
    let ys = panel
        .series
        .iter()
        .flat_map(|s| s.mean.iter().zip(&s.se).flat_map(|(m, e)| [m - e, m + e]));
    let (y0, y1) = panel.y_range.unwrap_or_else(|| span(ys, 0.0));
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
        let c = colour(k);
        if s.se.iter().any(|&e| e > 0.0) {
            let band = |sign: f64| {
                s.x.iter()
                    .zip(s.mean.iter().zip(&s.se))
                    .map(move |(&x, (m, e))| (x, m + sign * e))
            };
            let mut outline: Vec<(f64, f64)> = band(1.0).collect();
            outline.extend(band(-1.0).rev());
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
        }
        let points: Vec<(f64, f64)> = s.x.iter().copied().zip(s.mean.iter().copied()).collect();
        let stride = points.len().div_ceil(12).max(1);
        let marked: Vec<(f64, f64)> = points.iter().copied().step_by(stride).collect();
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (24, 0)], c.stroke_width(2))
                    + marker(k, (12, 0), c)
            });
        chart.draw_series(
            marked
                .into_iter()
                .map(|p| EmptyElement::at(p) + marker(k, (0, 0), c)),
        )?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight, 14)
}

/// One group of [`scatter_svg`]: points and an optional fitted line.
#[derive(Clone, Debug)]
pub struct ScatterGroup {
    /// The legend's text.
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// The fitted line y = intercept + slope · x, as `(intercept, slope)`, drawn dashed over
    /// the group's x range.
    pub line: Option<(f64, f64)>,
}

/// A scatter plot of groups of points, each group its own colour and marker and its fitted
/// line (if any) dashed, with axis labels `x_desc` and `y_desc` (give the units).
///
/// # Errors
/// [`Error::Plot`] if the drawing fails.
pub fn scatter_svg(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    groups: &[ScatterGroup],
) -> Result<String> {
    draw("scatter", (900, 560), |root| {
        let (x0, x1) = span(
            groups.iter().flat_map(|g| g.points.iter().map(|p| p.0)),
            0.0,
        );
        let (y0, y1) = span(
            groups.iter().flat_map(|g| g.points.iter().map(|p| p.1)),
            0.0,
        );
        let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.08);
        let mut chart = ChartBuilder::on(root)
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
            let c = colour(k);
            chart
                .draw_series(
                    g.points
                        .iter()
                        .map(|&p| EmptyElement::at(p) + marker(k, (0, 0), c)),
                )?
                .label(g.label.as_str())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], c.stroke_width(2))
                        + marker(k, (12, 0), c)
                });
            if let Some((a, b)) = g.line {
                let (lx0, lx1) = span(g.points.iter().map(|p| p.0), 0.0);
                chart.draw_series(DashedLineSeries::new(
                    [(lx0, a + b * lx0), (lx1, a + b * lx1)],
                    8,
                    5,
                    c.stroke_width(2),
                ))?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 14)
    })
}

/// One panel of [`posterior_intervals_svg`]: a parameter's true values against its
/// posterior summaries.
#[derive(Clone, Debug)]
pub struct IntervalPanel {
    /// The axis text of the parameter, with its units (for example "alpha (learning rate)").
    pub parameter: String,
    /// Per subject: (true value, interval low, posterior mean, interval high).
    pub points: Vec<(f64, f64, f64, f64)>,
    /// The interval's name in the legend, for example "90% interval".
    pub interval: String,
}

/// Posterior recovery: per parameter a panel of true values (x) against posterior means (y)
/// with each subject's interval as a vertical bar, and the identity line dashed.
///
/// # Errors
/// [`Error::Plot`] if the drawing fails.
pub fn posterior_intervals_svg(title: &str, panels: &[IntervalPanel]) -> Result<String> {
    let width = 460 * panels.len().max(1) as u32;
    draw("posterior intervals", (width, 500), |root| {
        root.titled(title, ("sans-serif", 22))?;
        let areas = root
            .margin(30, 0, 0, 0)
            .split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            let xs = panel.points.iter().map(|p| p.0);
            let ys = panel.points.iter().flat_map(|p| [p.0, p.1, p.3]);
            let (lo, hi) = span(xs.chain(ys), 0.0);
            let pad = (hi - lo) * 0.05;
            let (lo, hi) = (lo - pad, hi + pad);
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(lo..hi, lo..hi)?;
            chart
                .configure_mesh()
                .x_desc(format!("true {}", panel.parameter))
                .y_desc(format!("posterior {}", panel.parameter))
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 15))
                .draw()?;
            let bar = colour(0).mix(0.45);
            chart
                .draw_series(panel.points.iter().map(|&(x, l, _, h)| {
                    PathElement::new(vec![(x, l), (x, h)], bar.stroke_width(1))
                }))?
                .label(panel.interval.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x + 12, y - 8), (x + 12, y + 8)], bar.stroke_width(2))
                });
            let c = colour(0);
            chart
                .draw_series(
                    panel
                        .points
                        .iter()
                        .map(|&(x, _, m, _)| Circle::new((x, m), 3, c.filled())),
                )?
                .label("posterior mean")
                .legend(move |(x, y)| Circle::new((x + 12, y), 3, c.filled()));
            let grey = RGBColor(90, 90, 90);
            chart
                .draw_series(DashedLineSeries::new(
                    [(lo, lo), (hi, hi)],
                    6,
                    4,
                    grey.stroke_width(1),
                ))?
                .label("identity")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], grey.stroke_width(1))
                });
            legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_pads_and_handles_degenerate_input() {
        assert_eq!(span([1.0, 3.0].into_iter(), 0.0), (1.0, 3.0));
        assert_eq!(span([1.0, 3.0, f64::NAN].into_iter(), 0.5), (0.0, 4.0));
        assert_eq!(span([2.0].into_iter(), 0.1), (1.5, 2.5));
        assert_eq!(span(std::iter::empty(), 0.1), (0.0, 1.0));
    }

    #[test]
    fn curves_and_scatter_draw_every_series() {
        let series = |label: &str, se: f64| Series {
            label: label.to_string(),
            x: vec![1.0, 2.0, 3.0],
            mean: vec![0.1, 0.5, 0.7],
            se: vec![se; 3],
        };
        let panel = Panel {
            y_desc: "return (reward)".to_string(),
            series: (0..5).map(|k| series(&format!("run {k}"), 0.05)).collect(),
            y_range: None,
        };
        let svg = curves_svg("curves title", "trial", &[panel]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("curves title"));
        assert!((0..5).all(|k| svg.contains(&format!("run {k}"))));
        let groups = [ScatterGroup {
            label: "group a".to_string(),
            points: vec![(0.0, 1.0), (1.0, 2.0)],
            line: Some((1.0, 1.0)),
        }];
        let svg = scatter_svg("scatter title", "x (units)", "y (units)", &groups).unwrap();
        assert!(svg.contains("scatter title") && svg.contains("group a"));
        let panels = [IntervalPanel {
            parameter: "alpha (learning rate)".to_string(),
            points: vec![(0.2, 0.1, 0.25, 0.4), (0.6, 0.4, 0.55, 0.7)],
            interval: "90% interval".to_string(),
        }];
        let svg = posterior_intervals_svg("intervals title", &panels).unwrap();
        assert!(svg.contains("intervals title") && svg.contains("true alpha (learning rate)"));
        assert!(svg.contains("90% interval") && svg.contains("identity"));
    }
}
