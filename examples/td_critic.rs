//! Policy evaluation with the two-layer TD critic and the normalised replay update.
//!
//! Run: `cargo run --release --example td_critic [-- plot.svg]` (the plot goes to
//! `td_critic.svg` in the current directory without an argument); `--help` (or `-h`) prints
//! the usage.
//!
//! The task is a deterministic chain of 6 states with actions left and right. Moving right
//! from the last state ends the episode with reward 1; every other step costs 0.1. The
//! evaluated policy π moves right everywhere except in state 1, where it moves left (so
//! states 0 and 1 cycle forever). Its action values Q^π(x, u) are computed exactly by
//! solving the Bellman equation (I − γ P_π) q = r.
//!
//! Data: at every step an exploring agent picks a state–action pair z = (x, u) uniformly,
//! observes r and x₊, and stores (z, r, z₊ = (x₊, π(x₊))) — or a terminal transition — in a
//! replay buffer of the last M = 32 transitions. After each step the critic
//! Q̂(z) = w₁ᵀ tanh(W₂ᵀ φ₂(z)), with one-hot features φ₂ and 8 hidden units, takes one
//! normalised update ω ← ω − η Σⱼ dⱼ eⱼ/(dⱼᵀdⱼ + 1)² with η = 0.9 · 8/M.
//!
//! Printed: the RMS TD error over the buffer and the largest value error max |Q̂ − Q^π|
//! during training, the final value table, and the spectral radius of the contraction
//! matrix at the end (over all weights, and over the output layer alone). Written: an SVG
//! plot of both errors against the update count. Everything random comes from one seeded
//! `ChaCha8Rng`.
//!
//! The chain, the policy and the exact solve are `Chain` in `tests/common/chain.rs`, which
//! `tests/suite/critic.rs` runs with 5 states; this program compiles the same file (below) rather
//! than a copy of it.
//!
//! The plot's path is checked before the run (its directory must exist and be writable; it
//! must not be a directory), so a bad path fails at once, naming it. The plot is written
//! atomically (a temporary file in the same directory, renamed into place): an interrupted
//! run or an error never leaves half a file, and an existing file is untouched until the
//! rename. When stdout is closed early (`td_critic | head -3`), the rest of the output is
//! dropped quietly and the plot is still written.
//!
//! Exit status: 0 ran, 1 the run failed or the plot could not be written (or stdout failed),
//! 2 bad arguments (an unknown option, more than one path).

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use ndarray::Array1;
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Trainable};

#[path = "../tests/common/chain.rs"]
mod chain;

use chain::Chain;

#[path = "common/cli.rs"]
mod cli;

use cli::{OutputFile, Stream};

const USAGE: &str = "\
Policy evaluation on a 6-state chain with the two-layer TD critic and the normalised replay
update: TD and value errors during training, the final value table, the contraction's
spectral radius, and an SVG plot of the errors.

usage: td_critic [PLOT.svg]

  PLOT.svg     where to write the plot (default td_critic.svg); its directory must
               exist; written atomically
  -h, --help   print this help

Exit status: 0 ran, 1 the run failed or the plot could not be written, 2 bad arguments.";

/// Where the plot goes without an argument.
const DEFAULT_PLOT: &str = "td_critic.svg";

const N_STATES: usize = 6;
const GAMMA: f64 = 0.9;
const CAPACITY: usize = 32;
const HIDDEN: usize = 8;
const UPDATES: usize = 60_000;
const REPORT_EVERY: usize = 5_000;
const RECORD_EVERY: usize = 100;
const SEED: u64 = 7;

/// The chain of `N_STATES` states, evaluated with discount `GAMMA`.
const CHAIN: Chain = Chain {
    n: N_STATES,
    gamma: GAMMA,
};

fn main() -> ExitCode {
    cli::plot_main("td_critic", USAGE, DEFAULT_PLOT, run)
}

/// The whole program: training and the tables on `out`, then the plot into `plot_file`.
fn run(out: &mut Stream<impl Write>, plot_file: &OutputFile) -> Result<(), Box<dyn Error>> {
    let q = CHAIN.exact_q();

    let critic = ShallowCritic::with_features(CHAIN.one_hot(), HIDDEN, Activation::Tanh)?;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut omega = critic.random_weights(&mut rng);
    let mut ws = critic.workspace();
    let mut buffer = ReplayBuffer::new(CAPACITY, 2)?;
    let eta = 0.9 * buffer.step_size_bound(); // 8 / M, valid while the buffer fills
    let update = NormalizedUpdate::new(eta, GAMMA)?;

    writeln!(
        out,
        "rlgrad td_critic: policy evaluation on a {N_STATES}-state chain, gamma = {GAMMA}"
    );
    writeln!(
        out,
        "critic: one-hot(x, u) -> {HIDDEN} tanh -> Q, {} weights; replay buffer M = {CAPACITY}, \
         eta = {eta:.4} (8/M = {:.4})",
        critic.dim(),
        8.0 / CAPACITY as f64
    );
    writeln!(out);
    writeln!(
        out,
        "{:>8} {:>14} {:>16}",
        "update", "RMS TD error", "max |Q̂ - Q^π|"
    );

    let mut errors = Array1::zeros(CAPACITY);
    let mut history: Vec<(usize, f64, f64)> = Vec::new();
    for k in 1..=UPDATES {
        let (x, u) = (rng.random_range(0..N_STATES), rng.random_range(0..2));
        CHAIN.push(&mut buffer, x, u)?;
        update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?;
        if k % RECORD_EVERY == 0 || k == 1 {
            let e = errors.slice_mut(ndarray::s![..buffer.len()]);
            let half_sum = buffer.td_errors(&critic, omega.view(), GAMMA, e, &mut ws)?;
            let rms = (2.0 * half_sum / buffer.len() as f64).sqrt();
            let (worst, _) = CHAIN.value_error(&critic, &omega, &q, &mut ws)?;
            history.push((k, rms, worst));
            if k % REPORT_EVERY == 0 || k == 1 {
                writeln!(out, "{k:>8} {rms:>14.3e} {worst:>16.3e}");
            }
        }
    }

    let (worst, table) = CHAIN.value_error(&critic, &omega, &q, &mut ws)?;
    writeln!(out);
    writeln!(
        out,
        "{:>5} {:>6} {:>12} {:>12}",
        "state", "action", "Q^π", "Q̂"
    );
    for x in 0..N_STATES {
        for (u, name) in ["left", "right"].iter().enumerate() {
            writeln!(
                out,
                "{x:>5} {name:>6} {:>12.6} {:>12.6}",
                q[2 * x + u],
                table[2 * x + u]
            );
        }
    }
    // Over all weights the contraction matrix has eigenvalue 1 wherever the stored data
    // vectors do not reach (12 distinct transitions cannot excite 104 directions); over the
    // output layer alone (the linear critic with this hidden layer) it contracts.
    let rho = update.spectral_radius(&critic, &buffer, omega.view(), &mut ws)?;
    let output_only = update.with_trainable(Trainable::OutputLayer);
    let rho_w1 = output_only.spectral_radius(&critic, &buffer, omega.view(), &mut ws)?;
    let (first, last) = (history[0], history[history.len() - 1]);
    writeln!(out);
    writeln!(
        out,
        "RMS TD error {:.3e} -> {:.3e} over {UPDATES} updates; final max |Q̂ - Q^π| = {worst:.3e}",
        first.1, last.1
    );
    writeln!(
        out,
        "spectral radius of the contraction matrix at the final weights: {rho:.6} over all {} \
         weights (12 distinct transitions excite at most 12 directions), {rho_w1:.6} over the \
         {HIDDEN} output weights",
        critic.dim()
    );

    let svg = plot(&history)?;
    plot_file.write(|w| w.write_all(svg.as_bytes()))?;
    writeln!(out, "plot written to {}", plot_file.path().display());
    Ok(())
}

/// The SVG text of the error curves.
fn plot(history: &[(usize, f64, f64)]) -> Result<String, Box<dyn Error>> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let values = || history.iter().flat_map(|h| [h.1, h.2]).filter(|v| *v > 0.0);
    let floor = values().fold(f64::INFINITY, f64::min).min(1.0) / 3.0;
    let top = values().fold(floor, f64::max) * 3.0;
    let last = history.last().map_or(1, |h| h.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "TD critic on a chain: normalised replay update",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0..last, (floor..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("update")
        .y_desc("error (log scale)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    let series = [
        ("RMS TD error over the buffer", 1usize, BLUE),
        ("max |Q̂ − Q^π|", 2usize, RED),
    ];
    for (label, column, colour) in series {
        let points = history.iter().map(|h| {
            let v = if column == 1 { h.1 } else { h.2 };
            (h.0, v.max(floor))
        });
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    drop(chart);
    drop(root);
    Ok(svg)
}
