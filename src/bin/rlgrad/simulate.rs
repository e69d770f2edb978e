//! `rlgrad simulate`: a cohort from a model on a (reversal) bandit, as a long-format CSV.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rlgrad::data::Session;

use crate::cohort::{BanditArgs, Params, parse_param};
use crate::common::{
    ModelName, Outcome, RunArgs, check_outputs, failed, names, number, report_written, write_file,
};
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Simulate a cohort of subjects choosing on a bandit, and write their choices as the
long-format CSV that `fit`, `compare` and `latents` read.

Every subject plays --trials trials of one session on a bandit whose arms pay 1 with the
probabilities --probs (else 0), reversed every --reversal-every trials if given. The model's
parameters are set on the natural scale with --param NAME=VALUE (defaults: alpha, alpha_pos,
alpha_neg 0.3; beta 4; kappa 0.5). The cohort is a population: each subject's unconstrained theta
is the given values' theta plus N(0, SD^2) noise per parameter, SD = --spread (default 0.5,
as in `recover`). With --spread 0 every subject has the given values; EM on such a cohort
drives the group variance towards 0 and stops at --max-iterations, not converged.

OUTPUTS
  --out FILE (required): CSV with columns subject, session, trial, action, reward (one row
    per trial; subjects s1, s2, ...; session 1; trials 1, 2, ...; actions 0-based)
  --truth FILE: CSV, one row per subject: subject, theta_<p>..., <p>... (the generating
    parameters, unconstrained and natural), to check recovery against `fit`.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad simulate --model rw --subjects 30 --trials 200 --out sim.csv
  rlgrad simulate --model rw-dual --param alpha_pos=0.4 --param alpha_neg=0.1 --param beta=5 \\
      --spread 0.5 --probs 0.8,0.2 --reversal-every 50 --out sim.csv --truth truth.csv --seed 7";

/// The options of `simulate`.
#[derive(Args, Debug)]
#[command(
    about = "Simulate a cohort on a (reversal) bandit; writes the long-format CSV",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct SimulateArgs {
    /// The model.
    #[arg(long, value_enum, default_value = "rw")]
    pub model: ModelName,

    /// A parameter on the natural scale, NAME=VALUE (repeatable; unnamed ones keep their
    /// defaults).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, f64)>,

    /// The standard deviation of the subjects' theta around the given values (0: identical
    /// subjects).
    #[arg(long, default_value_t = 0.5, value_name = "SD", value_parser = non_negative)]
    pub spread: f64,

    /// The number of subjects.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..100_000), value_name = "N")]
    pub subjects: u64,

    /// Trials per subject.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..1_000_000), value_name = "T")]
    pub trials: u64,

    #[command(flatten)]
    pub bandit: BanditArgs,

    /// The choices CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The generating parameters CSV, one row per subject.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("expected a number >= 0, got `{s}`")),
    }
}

pub fn run(
    args: &SimulateArgs,
    out: &mut Stream<impl Write>,
    _err: &mut Stream<impl Write>,
) -> Outcome {
    let files = check_outputs(
        &[],
        &[
            ("--out", Some(&args.out)),
            ("--truth", args.truth.as_deref()),
        ],
    )?;
    let n_actions = args.bandit.probs.len();
    let bandit = args.bandit.bandit()?;
    let model = args.model.build(1, n_actions)?;
    let names = names(&model);
    let params = Params::new(&model, args.model, &args.params)?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
    let noise = Normal::new(0.0, args.spread).map_err(failed)?;
    let mut sessions: Vec<(String, Session)> = Vec::new();
    let mut truth: Vec<(String, Array1<f64>)> = Vec::new();
    for i in 0..args.subjects {
        let id = format!("s{}", i + 1);
        let theta = params.theta.mapv(|t| t + noise.sample(&mut rng));
        let mut env = bandit.clone();
        let session = model
            .simulate(theta.view(), &mut env, args.trials as usize, "1", &mut rng)
            .map_err(failed)?;
        sessions.push((id.clone(), session));
        truth.push((id, theta));
    }

    if let Some(file) = &files[0] {
        write_file(file, |w| write_choices(w, &sessions))?;
    }
    if let Some(file) = &files[1] {
        write_file(file, |w| write_truth(w, &model, &names, &truth))?;
    }
    writeln!(
        out,
        "simulated {} subjects x {} trials of {} ({}) on a {}-armed bandit{}, seed {}",
        args.subjects,
        args.trials,
        args.model.name(),
        params.describe(),
        n_actions,
        args.bandit
            .reversal_every
            .map_or_else(String::new, |k| format!(" reversed every {k} trials")),
        args.run.seed
    );
    report_written(out, &files, &["choices", "generating parameters"]);
    Ok(())
}

fn write_choices(w: &mut impl Write, sessions: &[(String, Session)]) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["subject", "session", "trial", "action", "reward"])?;
    for (id, s) in sessions {
        for (t, (&a, &r)) in s.actions().iter().zip(s.rewards()).enumerate() {
            out.write_record([
                id.clone(),
                s.id().to_string(),
                (t + 1).to_string(),
                a.to_string(),
                number(r),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_truth(
    w: &mut impl Write,
    model: &crate::common::MenuModel,
    names: &[String],
    truth: &[(String, Array1<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["subject".to_string()];
    header.extend(names.iter().map(|n| format!("theta_{n}")));
    header.extend(names.iter().cloned());
    out.write_record(&header)?;
    for (id, theta) in truth {
        let natural = model.natural(theta.view())?;
        let mut row = vec![id.clone()];
        row.extend(theta.iter().map(|&t| number(t)));
        row.extend(
            names
                .iter()
                .map(|n| natural.get(n).map_or_else(String::new, number)),
        );
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}
