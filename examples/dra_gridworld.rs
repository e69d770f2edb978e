//! DRA in the paper's grid world (Patel, Acerbi & Pouget 2020, Fig. 2; spec `dra.md` §6–7):
//! learning curves for σ₀ ∈ {1, 3, 4, 5}, and where the agent puts its precision before and
//! after the environment change.
//!
//! Run: `cargo run --release --example dra_gridworld [-- --out DIR]` (default
//! `target/dra_gridworld`, created if missing); `--help` prints the usage. `--quick` is a
//! smoke run (200 trials, 2 runs; a few seconds) that checks the program works and
//! reproduces nothing: `cargo test` compiles the examples but does not run them, so
//! `cargo run --release --example dra_gridworld -- --quick --out /tmp/x` is its smoke test.
//!
//! 1. Curves: `DraConfig::grid_world_published(σ₀)` (γ 0.9, λ 0.1, α₁ = α₂ = 0.1, β 10,
//!    σ_base 5), 5000 trials, evaluated after trials 0, 100, …, 4900 over 100 episodes;
//!    5 runs (seeds 1–5) per σ₀.
//! 2. Maps: 5 more runs (seeds 1–5) with σ₀ = 3 over 10 000 trials, the environment change
//!    (wall [0,7] removed, goal moved to [0,6]) before trial 5000, σ and q̄ recorded after
//!    trials 4999 and 9999. The σ map shows per cell the smallest σ over its 4 actions (the
//!    cell's most precise memory), averaged over the 5 runs; the entropy map shows per cell
//!    the entropy of the agent's marginal choice (`MemoryPolicy::choice_entropy`, β = 10,
//!    the snapshot's q̄ and σ), in nats, averaged over the 5 runs.
//!
//! Outputs in DIR: `curves.csv` (`sigma0,run,trial,return,cost,objective`, one row per
//! evaluation of every run), `curves.svg` (objective, return and cost against the trial,
//! mean ± s.e. bands over the 5 runs), `sigma_map.svg` and `entropy_map.svg` (before and
//! after the change). Every path is checked before training; files are written atomically,
//! before the table is printed on stdout. Progress goes to stderr.
//!
//! The table gives per σ₀ the final objective, return and cost (mean ± s.e. over runs) and
//! the trial at which the objective first comes within 1 of its plateau (the mean of the
//! run's last 10 evaluations), per run and on average; then, for the map runs, the mean
//! minimum σ on the cells of the greedy route (argmax q̄ from the start) and off it.
//!
//! Time: 6.5–13 s wall (two runs) in release mode on 2 cores (measured with `time`, 150 000 trials in all,
//! the machine shared with other builds; `--quick`: about 1 s).
//!
//! Exit status: 0 ran, 1 training or an output file failed, 2 bad arguments.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::dra::{CurveSummary, DraConfig, MeanSe, TrainingLog, train_runs};
use rlgrad::env::{Environment, GridWorld};
use rlgrad::policy::MemoryPolicy;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dra_plots.rs"]
mod dra_plots;
#[path = "common/dra_run.rs"]
mod dra_run;

use cli::{OutputFile, Stream};
use dra_plots::{Finals, GridPanel, Panel, Series, pm};
use dra_run::{Meter, Options, Quick};

const NAME: &str = "dra_gridworld";

const USAGE: &str = "\
DRA in the paper's grid world: learning curves for sigma0 in {1, 3, 4, 5} (5 runs each),
and the sigma and choice-entropy maps before and after the environment change.

usage: dra_gridworld [--out DIR] [--quick]

  --out DIR    where the outputs go (default target/dra_gridworld; created if missing):
               curves.csv, curves.svg, sigma_map.svg, entropy_map.svg";

const FILES: [&str; 4] = [
    "curves.csv",
    "curves.svg",
    "sigma_map.svg",
    "entropy_map.svg",
];
const SIGMA0: [f64; 4] = [1.0, 3.0, 4.0, 5.0];
/// The shown range of the objective and return curves (the first evaluations, near −900,
/// would flatten the rest).
const CURVE_RANGE: (f64, f64) = (-60.0, 5.0);
/// The σ₀ of the map runs.
const MAP_SIGMA0: f64 = 3.0;
/// β of the entropy maps (the preset's).
const BETA: f64 = 10.0;
/// The plateau is the mean of the last this many evaluations.
const TAIL: usize = 10;
/// "Reached" means within this of the plateau.
const TOLERANCE: f64 = 1.0;

/// The smoke run's sizes (the map runs take twice as many trials).
const QUICK: Quick = Quick {
    n_trials: 200,
    eval_every: 20,
    eval_episodes: 10,
};

/// The published preset with σ₀ (cut down under `--quick`).
fn config(opts: &Options, sigma0: f64) -> DraConfig {
    opts.sized(DraConfig::grid_world_published(sigma0), &QUICK)
}

/// The map runs: σ₀ = 3, twice the trials, the change at the half, σ and q̄ recorded just
/// before it and at the end.
fn map_config(opts: &Options) -> DraConfig {
    let base = config(opts, MAP_SIGMA0);
    let half = base.n_trials;
    DraConfig {
        n_trials: 2 * half,
        change_at: Some(half),
        snapshots: vec![half - 1, 2 * half - 1],
        ..base
    }
}

fn main() -> ExitCode {
    dra_run::main(NAME, USAGE, "target/dra_gridworld", &FILES, run)
}

fn run(
    opts: &Options,
    files: &[OutputFile],
    out: &mut Stream<impl Write>,
) -> Result<(), Box<dyn Error>> {
    let (curve_config, map_config) = (config(opts, MAP_SIGMA0), map_config(opts));
    let runs = opts.seeds.len();
    let (n_trials, map_trials) = (curve_config.n_trials, map_config.n_trials);
    let meter = Meter::new(NAME, runs * (SIGMA0.len() * n_trials + map_trials));
    let world = GridWorld::paper();
    let mut curves = Vec::new();
    for sigma0 in SIGMA0 {
        let logs = train_runs(&world, &config(opts, sigma0), &opts.seeds, |_, _| {
            meter.tick()
        })?;
        curves.push((sigma0, logs));
    }
    let map_logs = train_runs(&world, &map_config, &opts.seeds, |_, _| meter.tick())?;

    // Files first.
    let rows: Vec<Vec<String>> = curves
        .iter()
        .flat_map(|(sigma0, logs)| dra_plots::curve_rows(&sigma0.to_string(), logs))
        .collect();
    dra_plots::write_csv(
        &files[0],
        &["sigma0", "run", "trial", "return", "cost", "objective"],
        &rows,
    )?;
    let summaries = curves
        .iter()
        .map(|(s, logs)| Ok((*s, CurveSummary::of(logs)?)))
        .collect::<Result<Vec<_>, rlgrad::Error>>()?;
    let panel = |y_desc: &str, column: fn(&CurveSummary) -> &[MeanSe], y_range| Panel {
        y_desc: y_desc.to_string(),
        y_range,
        series: summaries
            .iter()
            .map(|(s, sum)| Series::of(format!("σ₀ = {s}"), sum, column(sum)))
            .collect(),
    };
    let svg = dra_plots::curves_svg(
        &format!(
            "Grid world, DRA: mean ± s.e. over {runs} runs (evaluation over {} episodes)",
            curve_config.eval_episodes
        ),
        "trial",
        &[
            panel(
                "objective (reward − λ·KL; cut at −60)",
                |s| &s.objective,
                Some(CURVE_RANGE),
            ),
            panel(
                "return (reward per episode; cut at −60)",
                |s| &s.return_mean,
                Some(CURVE_RANGE),
            ),
            panel("cost λ·KL (reward units)", |s| &s.cost, None),
        ],
    )?;
    files[1].write(|w| w.write_all(svg.as_bytes()))?;
    let maps = Maps::of(&map_logs)?;
    let when = ["before the change", "after the change"];
    let sigma_panels = maps.panels(&maps.sigma, &when, &map_logs[0].snapshots);
    let sigma_hi = maps.sigma.iter().flatten().copied().fold(0.0, f64::max);
    let svg = dra_plots::grid_maps_svg(
        &format!(
            "σ map: smallest σ of the cell's 4 memories, mean over {runs} runs (σ₀ = {MAP_SIGMA0})"
        ),
        "σ (reward units)",
        &sigma_panels,
        (0.0, sigma_hi),
    )?;
    files[2].write(|w| w.write_all(svg.as_bytes()))?;
    let entropy_panels = maps.panels(&maps.entropy, &when, &map_logs[0].snapshots);
    let svg = dra_plots::grid_maps_svg(
        &format!("Choice entropy (β = {BETA}), mean over {runs} runs (σ₀ = {MAP_SIGMA0})"),
        "entropy (nats)",
        &entropy_panels,
        (0.0, 4f64.ln()),
    )?;
    files[3].write(|w| w.write_all(svg.as_bytes()))?;

    // Then the table.
    writeln!(
        out,
        "Grid world, DRA (published preset: gamma 0.9, lambda 0.1), {} trials, {runs} runs per sigma0; \
         mean ± s.e. over runs of the last evaluation (trial {})",
        n_trials,
        summaries[0].1.trial.last().copied().unwrap_or(0)
    );
    writeln!(
        out,
        "\n| sigma0 | objective | return | cost | first within {TOLERANCE} of plateau (mean) | per run |"
    );
    writeln!(out, "|---|---|---|---|---|---|");
    for (sigma0, logs) in &curves {
        let f = Finals::of(logs)?;
        let reached: Vec<Option<usize>> = logs
            .iter()
            .map(|l| l.first_within(TOLERANCE, TAIL))
            .collect();
        let found: Vec<f64> = reached.iter().flatten().map(|&t| t as f64).collect();
        let mean = if found.len() == reached.len() {
            format!("{:.0}", MeanSe::of(&found)?.mean)
        } else {
            "n/a".to_string()
        };
        let per_run: Vec<String> = reached
            .iter()
            .map(|r| r.map_or("-".to_string(), |t| t.to_string()))
            .collect();
        writeln!(
            out,
            "| {sigma0} | {} | {} | {} | {mean} | {} |",
            pm(f.objective, 2),
            pm(f.ret, 2),
            pm(f.cost, 2),
            per_run.join(", ")
        );
    }
    writeln!(
        out,
        "\nplateau: mean objective of each run's last {TAIL} evaluations; shortest path return -3 \
         (14 steps), +3 after the change (8 steps)."
    );
    writeln!(
        out,
        "\nMap runs (sigma0 = {MAP_SIGMA0}, change before trial {}): smallest sigma per cell, mean over runs",
        map_trials / 2
    );
    writeln!(
        out,
        "\n| snapshot | greedy route (cells) | on route | off route | objective (last eval) |"
    );
    writeln!(out, "|---|---|---|---|---|");
    for (k, label) in when.iter().enumerate() {
        let (route, on, off) = maps.route_split(k)?;
        let trial = map_logs[0].snapshots[k].trial;
        let objective = MeanSe::of(
            &map_logs
                .iter()
                .filter_map(|l| {
                    l.curve
                        .iter()
                        .rev()
                        .find(|p| p.trial <= trial)
                        .map(|p| p.objective)
                })
                .collect::<Vec<_>>(),
        )?;
        writeln!(
            out,
            "| after trial {trial} ({label}) | {} | {on:.3} | {off:.3} | {} |",
            route.len(),
            pm(objective, 2)
        );
    }
    Ok(())
}

/// Per snapshot, per cell: the smallest σ of the cell and the choice entropy (means over the
/// runs), and the mean q̄, with the world the snapshot was taken in.
struct Maps {
    worlds: [GridWorld; 2],
    sigma: Vec<Vec<f64>>,
    entropy: Vec<Vec<f64>>,
    q_bar: Vec<Vec<f64>>,
}

impl Maps {
    fn of(logs: &[TrainingLog]) -> Result<Maps, Box<dyn Error>> {
        let worlds = [GridWorld::paper(), GridWorld::paper_changed()];
        let (n_states, n_actions) = (worlds[0].n_states(), worlds[0].n_actions());
        let n_runs = logs.len() as f64;
        let mut maps = Maps {
            sigma: vec![vec![0.0; n_states]; 2],
            entropy: vec![vec![0.0; n_states]; 2],
            q_bar: vec![vec![0.0; n_states * n_actions]; 2],
            worlds,
        };
        for log in logs {
            for (k, snap) in log.snapshots.iter().enumerate().take(2) {
                let policy =
                    MemoryPolicy::new(n_states, n_actions, BETA)?.with_q_bar(snap.q_bar.clone())?;
                for s in 0..n_states {
                    let row = &snap.sigma[s * n_actions..(s + 1) * n_actions];
                    maps.sigma[k][s] += row.iter().copied().fold(f64::INFINITY, f64::min) / n_runs;
                    maps.entropy[k][s] += policy.choice_entropy(&snap.sigma, s)? / n_runs;
                }
                for (q, v) in maps.q_bar[k].iter_mut().zip(&snap.q_bar) {
                    *q += v / n_runs;
                }
            }
        }
        Ok(maps)
    }

    fn panels(
        &self,
        values: &[Vec<f64>],
        when: &[&str],
        snapshots: &[rlgrad::dra::Snapshot],
    ) -> Vec<GridPanel> {
        (0..2)
            .map(|k| {
                let world = &self.worlds[k];
                GridPanel {
                    caption: format!("after trial {} ({})", snapshots[k].trial, when[k]),
                    rows: world.rows(),
                    cols: world.cols(),
                    value: values[k].clone(),
                    obstacle: (0..world.n_states())
                        .map(|s| world.cell_of(s).is_ok_and(|c| world.is_obstacle(c)))
                        .collect(),
                    start: world.start(),
                    goal: world.goal(),
                }
            })
            .collect()
    }

    /// The greedy route of snapshot k (argmax of the mean q̄ from the start, at most 100
    /// steps) and the mean smallest σ on its cells and on the other free cells.
    fn route_split(&self, k: usize) -> Result<(Vec<usize>, f64, f64), Box<dyn Error>> {
        let mut world = self.worlds[k].clone();
        let n_actions = world.n_actions();
        let mut rng = ChaCha8Rng::seed_from_u64(0); // the grid world is deterministic
        let mut s = world.reset(&mut rng);
        let mut route = vec![s];
        for _ in 0..100 {
            let q = &self.q_bar[k][s * n_actions..(s + 1) * n_actions];
            let a = (0..n_actions).fold(0, |b, a| if q[a] > q[b] { a } else { b });
            match world.step(a, &mut rng)?.next_state {
                Some(next) if !route.contains(&next) => {
                    s = next;
                    route.push(s);
                }
                _ => break,
            }
        }
        let free: Vec<usize> = (0..world.n_states())
            .filter(|&s| {
                world
                    .cell_of(s)
                    .is_ok_and(|c| !world.is_obstacle(c) && c != world.goal())
            })
            .collect();
        let mean = |cells: Vec<usize>| {
            cells.iter().map(|&s| self.sigma[k][s]).sum::<f64>() / cells.len().max(1) as f64
        };
        let on = mean(free.iter().copied().filter(|s| route.contains(s)).collect());
        let off = mean(
            free.iter()
                .copied()
                .filter(|s| !route.contains(s))
                .collect(),
        );
        Ok((route, on, off))
    }
}
