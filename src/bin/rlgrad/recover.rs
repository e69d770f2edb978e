//! `rlgrad recover`: parameter recovery for a model and a population.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{ParameterRecovery, RecoveryFit, Truth, parameter_recovery};
use rlgrad::menu::ModelName;
use rlgrad::prior::MvGaussian;

use crate::cohort::{BanditArgs, Params, parse_param};
use crate::common::{
    Failure, Outcome, RunArgs, check_outputs, em_options, failed, map_options, model_parser,
    number, positive, prior, progress, report_written, simulator, write_file,
};
use crate::fit::CovarianceArg;
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Check that a model's parameters can be recovered: simulate a cohort from a population,
fit it, and compare the fitted parameters with the true ones.

The population is N(theta0, SD^2 I) on the unconstrained scale, theta0 the parameters given
by --param NAME=VALUE on the natural scale (defaults as in `simulate`: rates 0.3, beta 4,
kappa 0.5, ...) and SD = --spread (default 0.5). Each of --subjects subjects plays --trials
trials on a bandit (--probs, --reversal-every, as in `simulate`), or for the task models
trials of their own task (two-step, go/no-go, restless bandit with --arms arms), and the cohort is fitted by MAP under the fixed prior of
`fit` (or --prior-variance V), or with --em by empirical-Bayes EM. Per parameter, on theta and on the natural scale: the correlation r,
the bias (mean fitted - true) and the RMSE, over the subjects that were fitted.

OUTPUTS
  stdout: the recovery table, and the subjects whose fit failed.
  --out FILE: CSV, one row per subject: subject, true_theta_<p>..., fitted_theta_<p>...,
    true_<p>..., fitted_<p>... (fitted values empty where the fit failed)
  --summary FILE: CSV, one row per parameter and scale: parameter, scale (theta or
    natural), n, correlation, bias, rmse";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad recover --model rw --subjects 50 --trials 200 --out recovery.csv
  rlgrad recover --model rw-dual --param alpha_pos=0.4 --param alpha_neg=0.2 --spread 0.7 \\
      --em --reversal-every 40 --summary summary.csv --seed 3
  rlgrad recover --model two-step-hybrid --subjects 40 --trials 200 --em --covariance diagonal";

/// The options of `recover`.
#[derive(Args, Debug)]
#[command(
    about = "Parameter recovery: simulate a population, fit it, report r, bias and RMSE",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct RecoverArgs {
    /// The model.
    #[arg(long, value_parser = model_parser(), default_value = "rw")]
    pub model: ModelName,

    /// The population's centre, a parameter on the natural scale, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, f64)>,

    /// The population's standard deviation on theta, per parameter.
    #[arg(long, default_value_t = 0.5, value_name = "SD", value_parser = positive)]
    pub spread: f64,

    /// The number of simulated subjects.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(2..100_000), value_name = "N")]
    pub subjects: u64,

    /// Trials per subject.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..1_000_000), value_name = "T")]
    pub trials: u64,

    #[command(flatten)]
    pub bandit: BanditArgs,

    /// Fit by empirical-Bayes EM instead of MAP under a fixed prior.
    #[arg(long)]
    pub em: bool,

    /// EM: the group covariance.
    #[arg(long, value_enum, default_value = "full", requires = "em")]
    pub covariance: CovarianceArg,

    /// EM: at most this many iterations.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..), requires = "em", value_name = "N")]
    pub max_iterations: u64,

    /// MAP: an isotropic prior N(0, V) on theta instead of the weakly informative default.
    #[arg(long, value_name = "V", value_parser = positive, conflicts_with = "em")]
    pub prior_variance: Option<f64>,

    /// Optimiser starts per subject (EM: in the first E-step).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub starts: u64,

    /// The true and fitted values per subject (CSV).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// r, bias and RMSE per parameter and scale (CSV).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(
    args: &RecoverArgs,
    out: &mut Stream<impl Write>,
    _err: &mut Stream<impl Write>,
) -> Outcome {
    let files = check_outputs(
        &[],
        &[
            ("--out", args.out.as_deref()),
            ("--summary", args.summary.as_deref()),
        ],
    )?;
    let (built, plays) = args.bandit.model(args.model)?;
    let names = built.names();
    let params = Params::new(built.model().layout(), args.model, &args.params)?;
    let population = MvGaussian::diagonal(
        params.theta.clone(),
        Array1::from_elem(names.len(), args.spread * args.spread),
    )
    .map_err(|e| Failure::Usage(format!("--spread: {e}")))?;
    let fit = if args.em {
        RecoveryFit::Em(em_options(
            args.starts,
            args.covariance.get(),
            args.max_iterations,
        ))
    } else {
        RecoveryFit::Map(
            prior(args.model, &names, args.prior_variance)?,
            map_options(args.starts),
        )
    };
    let sim = simulator(built, args.trials as usize)?;

    writeln!(
        out,
        "recovery: {} subjects x {} trials of {} ({}; spread {} on theta) on {plays}, fitted by \
         {}, seed {}\n",
        args.subjects,
        args.trials,
        args.model.name(),
        params.describe(),
        args.spread,
        if args.em { "EM" } else { "MAP" },
        args.run.seed
    );
    out.flush();
    let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
    let bar = progress(
        None,
        args.run.quiet,
        "{spinner} simulating and fitting ({elapsed})",
    );
    let rec = parameter_recovery(
        &*sim,
        Truth::Population(&population, args.subjects as usize),
        &fit,
        &mut rng,
    )
    .map_err(failed)?;
    bar.finish_and_clear();

    if let Some(file) = &files[0] {
        write_file(file, |w| write_subjects(w, &rec))?;
    }
    if let Some(file) = &files[1] {
        write_file(file, |w| write_summary(w, &rec))?;
    }
    write!(out, "{}", rec.table());
    if !rec.failed.is_empty() {
        writeln!(out, "\nfailed fits ({}):", rec.failed.len());
        for f in &rec.failed {
            writeln!(out, "  {f}");
        }
    }
    report_written(out, &files, &["true and fitted values", "summary"]);
    Ok(())
}

fn write_subjects(w: &mut impl Write, rec: &ParameterRecovery) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["subject".to_string()];
    for prefix in ["true_theta_", "fitted_theta_", "true_", "fitted_"] {
        header.extend(rec.names.iter().map(|n| format!("{prefix}{n}")));
    }
    out.write_record(&header)?;
    let k = rec.names.len();
    let opt = |v: Option<f64>| v.map_or_else(String::new, number);
    for s in &rec.subjects {
        let mut row = vec![s.id.clone()];
        row.extend(s.true_theta.iter().map(|&v| number(v)));
        row.extend((0..k).map(|i| opt(s.fitted_theta.as_ref().map(|t| t[i]))));
        row.extend(s.true_natural.iter().map(|&v| number(v)));
        row.extend((0..k).map(|i| opt(s.fitted_natural.as_ref().map(|t| t[i]))));
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}

fn write_summary(w: &mut impl Write, rec: &ParameterRecovery) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["parameter", "scale", "n", "correlation", "bias", "rmse"])?;
    for (scale, stats) in [("theta", &rec.theta), ("natural", &rec.natural)] {
        for s in stats {
            out.write_record([
                s.name.clone(),
                scale.to_string(),
                s.n.to_string(),
                number(s.correlation),
                number(s.bias),
                number(s.rmse),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}
