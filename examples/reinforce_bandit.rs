//! A softmax policy learns a 4-armed Bernoulli bandit by REINFORCE, once with each baseline.
//!
//! Run: `cargo run --release --example reinforce_bandit [-- path/to/plot.svg]`
//! (the plot goes to `target/reinforce_bandit.svg` without an argument); `--help` (or `-h`)
//! prints the usage.
//!
//! 1. The bandit (`env::Bandit`) pays 1 with probability 0.2, 0.4, 0.6, 0.8 by arm; every
//!    reward is shifted by +2, a constant no policy should care about but which a missing
//!    baseline turns into noise.
//! 2. The policy is a softmax over four logits θ, starting at θ = 0 (uniform).
//! 3. Estimator variance: at θ = 0, 4 000 batches of N = 8 pulls per baseline; the table shows
//!    the variance of the estimate (trace of its covariance) relative to no baseline, and its
//!    mean's distance from the exact gradient ∂J/∂θₖ = πₖ (pₖ − Σₐ πₐ pₐ) in standard errors.
//! 4. Learning: 40 seeded runs per baseline of 300 steps θ ← θ + 0.5 ĝ, each ĝ from a fresh
//!    batch of N = 8 pulls. The curves are the exact expected reward J(θₜ) = Σₐ πₐ(θₜ) pₐ
//!    (shift removed), averaged over runs; the table summarises them.
//!
//! Everything random comes from seeded `ChaCha8Rng`s, so the output is reproducible.
//!
//! The plot's path is checked before the run (its directory must exist and be writable; it
//! must not be a directory), so a bad path fails at once, naming it. The plot is written
//! atomically (a temporary file in the same directory, renamed into place): an interrupted
//! run or an error never leaves half a file, and an existing file is untouched until the
//! rename. Only the default path's directory (`target/`) is created when missing. When stdout
//! is closed early (`reinforce_bandit | head -3`), the rest of the table is dropped quietly and
//! the plot is still written.
//!
//! Exit status: 0 ran, 1 the plot could not be written (or stdout failed), 2 bad arguments
//! (an unknown option, more than one path).

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use ndarray::Array1;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::policy::PolicyAt;
use rlgrad::prelude::*;

// The sample statistics the tests use (`Stats`: means, variances, standard errors).
#[path = "../tests/common/stats.rs"]
mod stats;

#[path = "common/cli.rs"]
mod cli;

use cli::{OutputFile, Stream};

const USAGE: &str = "\
REINFORCE on a 4-armed Bernoulli bandit, once with each baseline: estimator variance at the
start, learning curves, and an SVG plot of the curves.

usage: reinforce_bandit [PLOT.svg]

  PLOT.svg     where to write the plot (default target/reinforce_bandit.svg); its
               directory must exist; written atomically
  -h, --help   print this help

Exit status: 0 ran, 1 the plot could not be written, 2 bad arguments.";

/// Where the plot goes without an argument.
const DEFAULT_PLOT: &str = "target/reinforce_bandit.svg";

const PROBS: [f64; 4] = [0.2, 0.4, 0.6, 0.8];
const SHIFT: f64 = 2.0;
const N: usize = 8;
const STEPS: usize = 300;
const RUNS: usize = 40;
const LEARNING_RATE: f64 = 0.5;
const VARIANCE_BATCHES: usize = 4_000;
/// Line colours (matplotlib's "tab10"), one per baseline.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn baselines() -> Vec<Baseline> {
    vec![
        Baseline::None,
        // The expected reward of the uniform starting policy: a sensible fixed guess.
        Baseline::Constant(SHIFT + 0.5),
        Baseline::LeaveOneOut,
        Baseline::BatchMean,
        Baseline::OptimalLeaveOneOut,
        Baseline::RunningAverage { decay: 0.9 },
    ]
}

/// Exact expected reward (without the shift) and its gradient at θ.
fn exact(policy: &SoftmaxPolicy, theta: &[f64]) -> Result<(f64, Vec<f64>), rlgrad::Error> {
    let mut pi = [0.0; 4];
    policy.probabilities(theta, 0, &mut pi)?;
    let j: f64 = pi.iter().zip(PROBS).map(|(p, r)| p * r).sum();
    let grad = (0..4).map(|k| pi[k] * (PROBS[k] - j)).collect();
    Ok((j, grad))
}

/// Draws N arms into the batch and records each pull's reward (plus SHIFT). `Batch::draw`
/// takes a closure returning the value, so an error of `Bandit::step` is kept aside, the draw
/// is stopped by a NaN value (which the batch refuses), and the environment's error is the
/// one returned.
fn draw_pulls(
    batch: &mut Batch<PolicyAt<'_, SoftmaxPolicy>>,
    env: &mut Bandit,
    rng: &mut ChaCha8Rng,
) -> Result<(), Box<dyn Error>> {
    let mut failure = None;
    let drawn = batch.draw(N, rng, |&a, r| match env.step(a, r) {
        Ok(outcome) => outcome.reward + SHIFT,
        Err(e) => {
            failure.get_or_insert(e);
            f64::NAN
        }
    });
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(drawn?),
    }
}

/// Variance (trace) of the estimate at θ = 0 and the largest bias in standard errors.
fn variance_at_start(
    policy: &SoftmaxPolicy,
    baseline: Baseline,
    seed: u64,
) -> Result<(f64, f64), Box<dyn Error>> {
    let theta = Array1::zeros(4);
    let (_, grad) = exact(policy, theta.as_slice().unwrap())?;
    let mut env = Bandit::new(PROBS.to_vec())?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut batch = Batch::new(policy.at(0), theta.view())?;
    let mut est = Reinforce::new(baseline)?;
    let mut g = Array1::zeros(4);
    let mut estimates = Vec::with_capacity(VARIANCE_BATCHES);
    for _ in 0..VARIANCE_BATCHES {
        batch.clear();
        draw_pulls(&mut batch, &mut env, &mut rng)?;
        est.estimate(&batch, g.view_mut())?;
        estimates.push(g.to_vec());
    }
    let st = stats::Stats::new(&estimates);
    Ok((st.var.iter().sum(), st.bias_in_se(&grad)))
}

/// Mean learning curve J(θₜ), t = 0..=STEPS, over RUNS seeded runs, and the final J of each run.
fn learn(
    policy: &SoftmaxPolicy,
    baseline: Baseline,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>), Box<dyn Error>> {
    let mut curve = vec![0.0; STEPS + 1];
    let mut finals = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let mut rng = ChaCha8Rng::seed_from_u64(seed + run as u64);
        let mut env = Bandit::new(PROBS.to_vec())?;
        let mut theta = Array1::zeros(4);
        let mut batch = Batch::new(policy.at(0), theta.view())?;
        let mut est = Reinforce::new(baseline)?;
        for (t, point) in curve.iter_mut().enumerate() {
            let (j, _) = exact(policy, theta.as_slice().unwrap())?;
            *point += j / RUNS as f64;
            if t == STEPS {
                finals.push(j);
                break;
            }
            batch.reset(theta.view())?;
            draw_pulls(&mut batch, &mut env, &mut rng)?;
            // Gradient ascent θ ← θ + lr · ĝ: the estimator adds lr · ĝ straight into θ.
            est.add_estimate(&batch, LEARNING_RATE, theta.view_mut())?;
        }
    }
    Ok((curve, finals))
}

/// The SVG text of the learning curves.
fn plot(curves: &[(String, Vec<f64>)]) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("REINFORCE on a 4-armed bandit, N = {N}, mean of {RUNS} runs"),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0..STEPS, 0.4..0.8)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("expected reward J(theta)")
        .draw()?;
    for (i, (name, curve)) in curves.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                curve.iter().enumerate().map(|(t, &j)| (t, j)),
                color.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    drop(chart);
    drop(root);
    Ok(svg)
}

fn main() -> ExitCode {
    cli::plot_main("reinforce_bandit", USAGE, DEFAULT_PLOT, run)
}

/// The whole program: the table on `out`, then the plot into `plot_file`.
fn run(out: &mut Stream<impl Write>, plot_file: &OutputFile) -> Result<(), Box<dyn Error>> {
    let policy = SoftmaxPolicy::logits(1, 4)?;
    let best = PROBS.iter().copied().fold(f64::MIN, f64::max);
    let start = exact(&policy, &[0.0; 4])?.0;

    writeln!(
        out,
        "4-armed bandit p = {PROBS:?} (+{SHIFT} to every reward), softmax over logits, N = {N}"
    );
    writeln!(
        out,
        "\n| baseline | variance / none at theta = 0 | bias (SE) | J after 50 | J after 300 | \
         mean J over steps | steps to 90% of the way to {best} |"
    );
    writeln!(out, "|---|---|---|---|---|---|---|");
    let mut curves = Vec::new();
    let mut none_var = None;
    for (i, b) in baselines().into_iter().enumerate() {
        let (var, bias) = variance_at_start(&policy, b, 1_000 + i as u64)?;
        let none = *none_var.get_or_insert(var);
        let (curve, finals) = learn(&policy, b, 10_000 * (i as u64 + 1))?;
        let target = start + 0.9 * (best - start);
        let reach = curve
            .iter()
            .position(|&j| j >= target)
            .map_or(format!("> {STEPS}"), |t| t.to_string());
        let mean_j = curve.iter().sum::<f64>() / curve.len() as f64;
        let sd = (finals
            .iter()
            .map(|j| (j - curve[STEPS]).powi(2))
            .sum::<f64>()
            / (finals.len() - 1) as f64)
            .sqrt();
        let name = match b {
            Baseline::Constant(c) => format!("constant {c}"),
            Baseline::RunningAverage { decay } => format!("running average ({decay})"),
            _ => b.name().to_string(),
        };
        writeln!(
            out,
            "| {name} | {:.3} | {bias:.1} | {:.3} | {:.3} ± {sd:.3} | {mean_j:.3} | {reach} |",
            var / none,
            curve[50],
            curve[STEPS],
        );
        curves.push((name, curve));
    }
    writeln!(
        out,
        "\nbias: the mean of {VARIANCE_BATCHES} estimates against the exact gradient, in \
         standard errors (the batch mean is biased by (N-1)/N = {:.3}); ± is the sd over runs.",
        (N - 1) as f64 / N as f64
    );
    let svg = plot(&curves)?;
    plot_file.write(|w| w.write_all(svg.as_bytes()))?;
    writeln!(
        out,
        "learning curves written to {}",
        plot_file.path().display()
    );
    Ok(())
}
