//! Policy evaluation with the two-layer TD critic and the normalised replay update.
//!
//! Run: `cargo run --release --example td_critic [-- plot.svg]`
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
//! The chain, the policy and the exact solve are the same as `Chain` in `tests/critic.rs`
//! (which uses 5 states); they are repeated here so that this file is a complete program.

use ndarray::Array1;
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::critic::{
    Activation, FeatureMap, FnFeatures, NormalizedUpdate, ReplayBuffer, ShallowCritic, Trainable,
    Transition,
};

const N_STATES: usize = 6;
const GAMMA: f64 = 0.9;
const CAPACITY: usize = 32;
const HIDDEN: usize = 8;
const UPDATES: usize = 60_000;
const REPORT_EVERY: usize = 5_000;
const RECORD_EVERY: usize = 100;
const SEED: u64 = 7;

/// The chain's dynamics: (reward, next state or None when the episode ends).
fn step(x: usize, u: usize) -> (f64, Option<usize>) {
    match u {
        0 => (-0.1, Some(x.saturating_sub(1))),
        _ if x + 1 == N_STATES => (1.0, None),
        _ => (-0.1, Some(x + 1)),
    }
}

/// The evaluated policy: right, except left in state 1.
fn policy(x: usize) -> usize {
    usize::from(x != 1)
}

/// Q^π by Gaussian elimination on (I − γ P_π) q = r, q indexed by 2x + u.
fn exact_q() -> Vec<f64> {
    let k = 2 * N_STATES;
    let mut a = vec![vec![0.0; k + 1]; k];
    for x in 0..N_STATES {
        for u in 0..2 {
            let row = 2 * x + u;
            a[row][row] += 1.0;
            let (r, next) = step(x, u);
            if let Some(xn) = next {
                a[row][2 * xn + policy(xn)] -= GAMMA;
            }
            a[row][k] = r;
        }
    }
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .expect("non-empty range");
        a.swap(col, piv);
        let pivot_row = a[col].clone();
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let f = r[col] / pivot_row[col];
                for (x, y) in r[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= f * y;
                }
            }
        }
    }
    (0..k).map(|i| a[i][k] / a[i][i]).collect()
}

fn z_of(x: usize, u: usize) -> [f64; 2] {
    [x as f64, u as f64]
}

/// max over (x, u) of |Q̂(x, u) − Q^π(x, u)|, and the table of Q̂.
fn value_error<M: FeatureMap>(
    critic: &ShallowCritic<M>,
    omega: &Array1<f64>,
    q: &[f64],
    ws: &mut rlgrad::critic::CriticWorkspace,
) -> Result<(f64, Vec<f64>), rlgrad::Error> {
    let mut table = Vec::with_capacity(q.len());
    let mut worst = 0.0_f64;
    for x in 0..N_STATES {
        for u in 0..2 {
            let z = z_of(x, u);
            let v = critic.value(omega.view(), z[..].into(), ws)?;
            worst = worst.max((v - q[2 * x + u]).abs());
            table.push(v);
        }
    }
    Ok((worst, table))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "td_critic.svg".to_string());
    let q = exact_q();

    let one_hot = FnFeatures::new(2, 2 * N_STATES, |z: &[f64], out: &mut [f64]| {
        out.fill(0.0);
        let x = (z[0].max(0.0) as usize).min(N_STATES - 1);
        let u = (z[1].max(0.0) as usize).min(1);
        out[2 * x + u] = 1.0;
    });
    let critic = ShallowCritic::with_features(one_hot, HIDDEN, Activation::Tanh)?;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut omega = critic.random_weights(&mut rng);
    let mut ws = critic.workspace();
    let mut buffer = ReplayBuffer::new(CAPACITY, 2)?;
    let eta = 0.9 * buffer.step_size_bound(); // 8 / M, valid while the buffer fills
    let update = NormalizedUpdate::new(eta, GAMMA)?;

    println!("rlgrad td_critic: policy evaluation on a {N_STATES}-state chain, gamma = {GAMMA}");
    println!(
        "critic: one-hot(x, u) -> {HIDDEN} tanh -> Q, {} weights; replay buffer M = {CAPACITY}, \
         eta = {eta:.4} (8/M = {:.4})",
        critic.dim(),
        8.0 / CAPACITY as f64
    );
    println!();
    println!(
        "{:>8} {:>14} {:>16}",
        "update", "RMS TD error", "max |Q̂ - Q^π|"
    );

    let mut errors = Array1::zeros(CAPACITY);
    let mut history: Vec<(usize, f64, f64)> = Vec::new();
    for k in 1..=UPDATES {
        let (x, u) = (rng.random_range(0..N_STATES), rng.random_range(0..2));
        let (r, next) = step(x, u);
        let z = z_of(x, u);
        match next {
            Some(xn) => {
                let zn = z_of(xn, policy(xn));
                buffer.push(Transition::new(z[..].into(), r, zn[..].into()))?;
            }
            None => buffer.push(Transition::terminal(z[..].into(), r))?,
        }
        update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?;
        if k % RECORD_EVERY == 0 || k == 1 {
            let e = errors.slice_mut(ndarray::s![..buffer.len()]);
            let half_sum = buffer.td_errors(&critic, omega.view(), GAMMA, e, &mut ws)?;
            let rms = (2.0 * half_sum / buffer.len() as f64).sqrt();
            let (worst, _) = value_error(&critic, &omega, &q, &mut ws)?;
            history.push((k, rms, worst));
            if k % REPORT_EVERY == 0 || k == 1 {
                println!("{k:>8} {rms:>14.3e} {worst:>16.3e}");
            }
        }
    }

    let (worst, table) = value_error(&critic, &omega, &q, &mut ws)?;
    println!();
    println!("{:>5} {:>6} {:>12} {:>12}", "state", "action", "Q^π", "Q̂");
    for x in 0..N_STATES {
        for (u, name) in ["left", "right"].iter().enumerate() {
            println!(
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
    println!();
    println!(
        "RMS TD error {:.3e} -> {:.3e} over {UPDATES} updates; final max |Q̂ - Q^π| = {worst:.3e}",
        first.1, last.1
    );
    println!(
        "spectral radius of the contraction matrix at the final weights: {rho:.6} over all {} \
         weights (12 distinct transitions excite at most 12 directions), {rho_w1:.6} over the \
         {HIDDEN} output weights",
        critic.dim()
    );

    plot(&out, &history)?;
    println!("plot written to {out}");
    Ok(())
}

fn plot(path: &str, history: &[(usize, f64, f64)]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
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
    Ok(())
}
