//! `rlgrad sample`: the hierarchical posterior of a cohort by NUTS, with its diagnostics,
//! PSIS-LOO and WAIC, the draws, the summary, the timing and posterior predictive choices.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rlgrad::bayes::{
    Correlation, Hierarchical, HyperPrior, Loo, Posterior, PredictiveDraw, SampleOptions, Summary,
    Waic, posterior_predictive, sample_with_progress,
};
use rlgrad::menu::ModelName;

use crate::cohort::BanditArgs;
use crate::common::{
    DataArgs, Failure, Outcome, RunArgs, check_outputs, failed, model_parser, positive, progress,
    report_written, simulator, write_file,
};
use crate::io::Stream;
use crate::simulate::write_choices_of;

const LONG_ABOUT: &str = "\
Sample the hierarchical Bayesian posterior of a model over a whole cohort with NUTS (what
hBayesDM does with Stan): full posteriors for every subject and for the group, the
sampler's diagnostics, and model comparison by PSIS-LOO and WAIC.

THE MODEL
  Every subject i has its parameters theta_i on the unconstrained scale (logit, log, as in
  `rlgrad --help`), drawn from the group, non-centred:
    theta_i = mu + diag(tau) L_Omega z_i,   z_i ~ N(0, I)
  with the hyperprior
    mu_k ~ N(0, MU_SD^2)   tau_k ~ HalfNormal(TAU_SD)   Omega ~ LKJ(ETA)
  (L_Omega is the Cholesky factor of the correlation matrix Omega, LKJ on it.)
  Defaults: --mu-sd 2, --tau-sd 1, --eta 2 (weakly informative for logit and log scales;
  eta 1 is uniform over correlation matrices, eta > 1 favours weak correlations). With
  --diagonal, Omega = I: no correlations between parameters, only the scales are fitted.
  The likelihood of subject i is the model's, as in `fit`; every model of the menu works.

THE SAMPLER
  NUTS (nuts-rs, the sampler of PyMC's nutpie) on the exact gradient: --chains chains run in
  parallel (on --threads threads, default the machine's cores), each --warmup iterations
  of adaptation (step size, diagonal mass matrix; discarded) then --draws kept draws. Chain
  c uses stream c of --seed: the same seed gives the same draws on any thread count.

DIAGNOSTICS (printed, with warnings; a flag does not change the exit status)
  R-hat (rank-normalised split R-hat): compares the chains with each other and their halves;
    above 1.01 the chains have not mixed and the posterior is not trustworthy.
  ESS (bulk and tail effective sample size): the number of independent draws the chains are
    worth, for the centre and the 5%/95% tails; below 100 per chain the estimates (and
    R-hat) are unreliable. ESS per second is the sampler's efficiency.
  Divergences: trajectories whose energy error blew up, where the posterior's geometry is
    too curved for the step size; after warm-up even a few may bias the posterior (raise
    --target-accept). Warm-up divergences are reported per chain, expected early on.
  Max-depth hits: draws whose tree stopped at 2^MAX_DEPTH - 1 steps rather than by a U-turn
    (inefficient, not wrong).
  Every quantity over a threshold is flagged `*` in the table and listed as a warning.

MODEL COMPARISON
  PSIS-LOO (Pareto-smoothed importance sampling leave-one-out) and WAIC with the SUBJECTS as
  the observations: elpd estimates how well the model predicts a new subject's whole
  session (larger is better; compare models on the same data by elpd and its se). Pareto
  k-hat per subject: at or below the threshold min(1 - 1/log10 S, 0.7) (S the draws) the
  estimate is reliable, above it (and above 1 in particular) that subject's term is not.
  WAIC is flagged when a subject's p_waic exceeds 0.4.

OUTPUTS
  stdout: the data, the settings, the wall time, gradient evaluations, divergences, max-depth
  hits, max R-hat, min bulk/tail ESS and min bulk ESS per second, the group table (mu[p],
  tau[p] on the theta scale, corr[p,q]; every subject's natural parameters too with
  --subjects-table: mean, sd, 5/50/95%, R-hat, bulk and tail ESS), PSIS-LOO and WAIC, then
  every warning.
  --draws-out FILE: CSV, one row per kept draw: chain, draw (0-based), mu[p]..., tau[p]...,
    corr[p,q]... (with LKJ), then p[subject]... (every subject's natural parameters).
  --summary-out FILE: CSV, one row per quantity (the group's, then every subject's):
    quantity, mean, sd, q05, q50, q95, rhat, ess_bulk, ess_tail, mcse_mean, flagged.
  --timing-out FILE: JSON: seconds, chains, warmup, draws, gradient_evaluations,
    divergences, max_rhat, min_ess_bulk, min_ess_tail, min_ess_bulk_per_second, elpd_loo,
    se_loo, elpd_waic, model, n_subjects, n_trials (a non-finite number is null).
  --predictive N --predictive-out FILE: posterior predictive choices: N draws chosen at
    random (by --seed), every subject simulated at its theta of that draw, written as
    `rlgrad simulate` writes choices with a first column `draw`, the draw's row in the
    draws file (chain x draws + draw). The simulated sessions have --predictive-trials
    trials (default: the most trials of a subject in the data; two-step models: half its
    rows) of the model's task as in `simulate`: the bandit of --probs and
    --reversal-every for the rw* models, the model's own task for the others (--arms arms
    of the restless bandit, default the data's actions). Compare summaries of them (choice
    rates, learning curves) with the same summaries of the data.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad simulate --model rw --subjects 20 --trials 100 --out sim.csv
  rlgrad sample sim.csv --model rw --draws-out draws.csv --summary-out summary.csv
  rlgrad sample sim.csv --model rw --chains 4 --warmup 500 --draws 500 --threads 2 \\
      --timing-out timing.json --subjects-table
  rlgrad sample sim.csv --model rw-dual --diagonal --tau-sd 0.5 --target-accept 0.95
  rlgrad sample sim.csv --model rw --predictive 50 --predictive-out predictive.csv";

/// A number in (0, 1) (clap value parser).
fn unit_open(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("expected a number in (0, 1), got `{s}`")),
    }
}

/// The options of `sample`.
#[derive(Args, Debug)]
#[command(
    about = "Sample the hierarchical Bayesian posterior with NUTS; diagnostics, LOO, WAIC, draws",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct SampleArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The model.
    #[arg(long, value_parser = model_parser(), default_value = "rw")]
    pub model: ModelName,

    /// Chains, run in parallel (at least 2, for R-hat).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=1024), value_name = "N")]
    pub chains: u64,

    /// Warm-up (adaptation) iterations per chain (at least 1), discarded.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..10_000_000), value_name = "N")]
    pub warmup: u64,

    /// Draws kept per chain after warm-up (at least 4, for the diagnostics).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(4..10_000_000), value_name = "N")]
    pub draws: u64,

    /// The largest tree depth (at most 2^D - 1 leapfrog steps per draw).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=20), value_name = "D")]
    pub max_depth: u64,

    /// The step-size adaptation's target acceptance rate, in (0, 1); raise it (0.9, 0.95)
    /// against divergences.
    #[arg(long, default_value_t = 0.8, value_parser = unit_open, value_name = "P")]
    pub target_accept: f64,

    /// Threads for the chains (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024), value_name = "N")]
    pub threads: Option<u64>,

    /// No correlations between parameters at the group level (Omega = I).
    #[arg(long)]
    pub diagonal: bool,

    /// The LKJ shape eta of the correlations' prior (> 0; 1 uniform).
    #[arg(long, default_value_t = 2.0, value_parser = positive, allow_negative_numbers = true, conflicts_with = "diagonal", value_name = "ETA")]
    pub eta: f64,

    /// The standard deviation of the normal prior of every mu_k (theta scale, mean 0).
    #[arg(long, default_value_t = 2.0, value_parser = positive, allow_negative_numbers = true, value_name = "SD")]
    pub mu_sd: f64,

    /// The scale of the half-normal prior of every tau_k (theta scale).
    #[arg(long, default_value_t = 1.0, value_parser = positive, allow_negative_numbers = true, value_name = "SD")]
    pub tau_sd: f64,

    /// Every kept draw as CSV.
    #[arg(long, value_name = "FILE")]
    pub draws_out: Option<PathBuf>,

    /// The summary of every quantity as CSV.
    #[arg(long, value_name = "FILE")]
    pub summary_out: Option<PathBuf>,

    /// Time, ESS, divergences and LOO as JSON.
    #[arg(long, value_name = "FILE")]
    pub timing_out: Option<PathBuf>,

    /// Posterior predictive choices at this many random draws (needs --predictive-out).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), requires = "predictive_out", value_name = "N")]
    pub predictive: Option<u64>,

    /// The posterior predictive choices CSV (needs --predictive).
    #[arg(long, value_name = "FILE", requires = "predictive")]
    pub predictive_out: Option<PathBuf>,

    /// Trials of each simulated session (with --predictive).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..1_000_000), requires = "predictive", value_name = "T")]
    pub predictive_trials: Option<u64>,

    #[command(flatten)]
    pub bandit: BanditArgs,

    /// Print every subject's parameters in the table, not only the group's.
    #[arg(long)]
    pub subjects_table: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

impl SampleArgs {
    fn options(&self) -> SampleOptions {
        SampleOptions {
            chains: self.chains as usize,
            warmup: self.warmup as usize,
            draws: self.draws as usize,
            seed: self.run.seed,
            max_depth: self.max_depth,
            target_accept: self.target_accept,
            ..SampleOptions::default()
        }
    }

    fn hyper_prior(&self, k: usize) -> Result<HyperPrior, Failure> {
        let correlation = if self.diagonal {
            Correlation::Diagonal
        } else {
            Correlation::Lkj { eta: self.eta }
        };
        HyperPrior::new(vec![0.0; k], vec![self.mu_sd; k], vec![self.tau_sd; k])
            .and_then(|h| h.with_correlation(correlation))
            .map_err(|e| Failure::Usage(format!("the hyperprior: {e}")))
    }

    fn bandit_given(&self) -> bool {
        let b = &self.bandit;
        b.probs.is_some() || b.reversal_every.is_some() || b.arms.is_some()
    }
}

pub fn run(
    args: &SampleArgs,
    out: &mut Stream<impl Write>,
    err: &mut Stream<impl Write>,
) -> Outcome {
    if args.predictive.is_none() && args.bandit_given() {
        return Err(Failure::Usage(
            "--probs, --reversal-every and --arms set the task of --predictive, which is not given"
                .to_string(),
        ));
    }
    let files = check_outputs(
        &[&args.data.data],
        &[
            ("--draws-out", args.draws_out.as_deref()),
            ("--summary-out", args.summary_out.as_deref()),
            ("--timing-out", args.timing_out.as_deref()),
            ("--predictive-out", args.predictive_out.as_deref()),
        ],
    )?;
    let d = args.data.read(err)?;
    let built = args.data.model(&d, args.model)?;
    let names = built.names();
    let hyper = args.hyper_prior(names.len())?;
    let options = args.options();
    // The simulator first: a bad task option must not wait for the sampling.
    let simulator = match args.predictive {
        Some(_) => Some(predictive_simulator(args, &d)?),
        None => None,
    };

    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |n| n as usize,
    );
    writeln!(out, "{}", args.data.describe(&d));
    writeln!(
        out,
        "model: {} ({}); hierarchical, non-centred: mu ~ N(0, {}^2), tau ~ HalfNormal({}), {}",
        args.model.name(),
        names.join(", "),
        args.mu_sd,
        args.tau_sd,
        if args.diagonal {
            "Omega = I (diagonal)".to_string()
        } else {
            format!("Omega ~ LKJ({})", args.eta)
        }
    );
    writeln!(
        out,
        "NUTS: {} chains x {} draws after {} warm-up, max depth {}, target accept {}, seed {}, \
         {threads} thread(s)",
        options.chains,
        options.draws,
        options.warmup,
        options.max_depth,
        options.target_accept,
        options.seed
    );
    out.flush();

    let post = Hierarchical::new(built.model(), &d.data, hyper).map_err(failed)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| failed(format!("cannot start {threads} threads: {e}")))?;
    let total = (options.chains * (options.warmup + options.draws)) as u64;
    let bar = progress(
        Some(total),
        args.run.quiet,
        "sampling [{bar:40}] {pos}/{len} iterations ({elapsed}, eta {eta})",
    );
    let posterior = pool
        .install(|| sample_with_progress(&post, &options, &|_, _| bar.inc(1)))
        .map_err(failed)?;
    bar.finish_and_clear();
    let (summary, loo, waic) = pool
        .install(|| {
            Ok::<_, rlgrad::Error>((posterior.summary()?, posterior.loo()?, posterior.waic()?))
        })
        .map_err(failed)?;
    let predictive = match (args.predictive, simulator) {
        (Some(n), Some(sim)) => Some(
            pool.install(|| posterior_predictive(&*sim, &posterior, n as usize, args.run.seed))
                .map_err(|e| match e {
                    rlgrad::Error::InvalidLayout { .. } | rlgrad::Error::InvalidOption { .. } => {
                        Failure::Usage(format!("--predictive: {e}"))
                    }
                    _ => failed(e),
                })?,
        ),
        _ => None,
    };

    // The files first: a closed stdout must not cost the results.
    if let Some(file) = &files[0] {
        write_file(file, |w| posterior.write_draws_csv(w))?;
    }
    if let Some(file) = &files[1] {
        write_file(file, |w| summary.write_csv(w))?;
    }
    if let Some(file) = &files[2] {
        let json = timing_json(args, &d.data, &posterior, &summary, &loo, &waic);
        write_file(file, |w| -> Result<(), Box<dyn std::error::Error>> {
            serde_json::to_writer_pretty(&mut *w, &json)?;
            writeln!(w)?;
            Ok(())
        })?;
    }
    if let (Some(file), Some(draws)) = (&files[3], &predictive) {
        write_file(file, |w| write_predictive(w, &posterior, draws))?;
    }
    print_report(out, &posterior, &summary, &loo, &waic, args.subjects_table);
    report_written(
        out,
        &files,
        &["draws", "summary", "timing", "posterior predictive choices"],
    );
    Ok(())
}

/// The simulator of `--predictive`: the model on the task of the bandit options (for the
/// restless bandit, as many arms as the data has actions unless --arms), with
/// --predictive-trials trials.
fn predictive_simulator(
    args: &SampleArgs,
    d: &crate::common::Data,
) -> Result<Box<dyn rlgrad::fit::Simulate>, Failure> {
    let mut bandit: BanditArgs = args.bandit.clone();
    if args.model.plays_restless_bandit() && bandit.arms.is_none() {
        bandit.arms = Some(d.n_actions as u64);
    }
    let (built, _) = bandit.model(args.model)?;
    let trials = args.predictive_trials.map_or_else(
        || {
            let most = d
                .data
                .subjects()
                .iter()
                .map(|s| s.n_trials())
                .max()
                .unwrap_or(1);
            if args.model.is_two_step() {
                (most / 2).max(1)
            } else {
                most
            }
        },
        |t| t as usize,
    );
    // Checked before the sampling, so that a run is never thrown away at its end.
    let n = args.predictive.unwrap_or(1) as usize;
    let held = (args.chains * args.draws) as usize;
    if n > held {
        return Err(Failure::Usage(format!(
            "--predictive {n}: the posterior will hold {held} draws (--chains x --draws)"
        )));
    }
    let size = n
        .checked_mul(d.data.len())
        .and_then(|v| v.checked_mul(trials));
    if size.is_none_or(|v| v > rlgrad::check::MAX_FLOATS) {
        return Err(Failure::Usage(format!(
            "--predictive {n} x {} subjects x {trials} trials is too many to simulate (at most {} trials)",
            d.data.len(),
            rlgrad::check::MAX_FLOATS
        )));
    }
    simulator(built, trials)
}

/// The timing JSON (fields in the long help).
fn timing_json(
    args: &SampleArgs,
    data: &rlgrad::data::Dataset,
    posterior: &Posterior,
    summary: &Summary,
    loo: &Loo,
    waic: &Waic,
) -> serde_json::Value {
    serde_json::json!({
        "seconds": summary.seconds,
        "chains": posterior.n_chains(),
        "warmup": args.warmup,
        "draws": posterior.n_draws(),
        "gradient_evaluations": posterior.gradient_evaluations().iter().sum::<u64>(),
        "divergences": summary.divergences,
        "max_rhat": summary.max_rhat,
        "min_ess_bulk": summary.min_ess_bulk,
        "min_ess_tail": summary.min_ess_tail,
        "min_ess_bulk_per_second": summary.min_ess_per_second(),
        "elpd_loo": loo.elpd_loo,
        "se_loo": loo.se,
        "elpd_waic": waic.elpd_waic,
        "model": args.model.name(),
        "n_subjects": data.len(),
        "n_trials": data.n_trials(),
    })
}

/// The predictive choices: every draw's cohort, labelled by the draw's row in the draws file.
fn write_predictive(
    w: &mut impl Write,
    posterior: &Posterior,
    draws: &[PredictiveDraw],
) -> Result<(), csv::Error> {
    let labels: Vec<String> = draws
        .iter()
        .map(|p| (p.chain * posterior.n_draws() + p.draw).to_string())
        .collect();
    let cohorts: Vec<(&str, &[rlgrad::data::Subject])> = labels
        .iter()
        .zip(draws)
        .map(|(l, p)| (l.as_str(), p.data.subjects()))
        .collect();
    write_choices_of(w, Some("draw"), &cohorts)
}

/// The report on stdout (see the long help).
fn print_report(
    out: &mut Stream<impl Write>,
    posterior: &Posterior,
    summary: &Summary,
    loo: &Loo,
    waic: &Waic,
    subjects: bool,
) {
    let evals: u64 = posterior.gradient_evaluations().iter().sum();
    writeln!(
        out,
        "\ntime: {:.2} s wall, {evals} gradient evaluations",
        summary.seconds
    );
    writeln!(
        out,
        "divergences: {} after warm-up; warm-up, per chain: {:?}",
        summary.divergences,
        posterior.warmup_divergences()
    );
    writeln!(
        out,
        "max tree depth reached: {} draw(s) (depth {})",
        summary.max_depth_hits,
        posterior.options().max_depth
    );
    writeln!(out, "{}\n", summary.overall());
    writeln!(
        out,
        "{} (mu, tau on the theta scale; subjects' parameters on the natural scale; * flagged):",
        if subjects {
            "group and subjects"
        } else {
            "group"
        }
    );
    write!(out, "{}", summary.table(subjects));
    let k = &loo.k_counts;
    writeln!(
        out,
        "\nPSIS-LOO (subjects as observations): elpd {:.2} (se {:.2}), p_loo {:.2}; Pareto k: \
         {} good (<= {:.2}), {} bad (<= 1), {} very bad (> 1)",
        loo.elpd_loo, loo.se, loo.p_loo, k.good, loo.k_threshold, k.bad, k.very_bad
    );
    writeln!(
        out,
        "WAIC: elpd {:.2} (se {:.2}), p_waic {:.2}{}",
        waic.elpd_waic,
        waic.se,
        waic.p_waic,
        if waic.warning() {
            "; unreliable: some subject's p_waic > 0.4, prefer PSIS-LOO"
        } else {
            ""
        }
    );
    let mut warnings = summary.warnings();
    if loo.warning() {
        warnings.push(format!(
            "{} subject(s) with Pareto k > {:.2}: their PSIS-LOO terms are unreliable",
            k.bad + k.very_bad,
            loo.k_threshold
        ));
    }
    if waic.warning() {
        warnings.push("WAIC: some subject's p_waic exceeds 0.4; prefer PSIS-LOO".to_string());
    }
    if !warnings.is_empty() {
        writeln!(out);
    }
    for w in warnings {
        writeln!(out, "warning: {w}");
    }
}
