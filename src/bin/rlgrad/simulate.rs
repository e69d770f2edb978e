//! `rlgrad simulate`: a cohort from a model on a (reversal) bandit, as a long-format CSV.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rlgrad::data::{MISSED, NO_STATE, Subject};
use rlgrad::menu::ModelName;
use rlgrad::params::ParamLayout;

use crate::cohort::{BanditArgs, Params, parse_param};
use crate::common::{
    Outcome, RunArgs, check_outputs, failed, model_parser, number, report_written, simulator,
    write_file,
};
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Simulate a cohort of subjects choosing on a bandit (or in the model's own task), and write
their choices as the long-format CSV that `fit`, `compare` and `latents` read.

Every subject plays --trials trials of one session. The bandit models (rw ... rw-kernel) play
a bandit whose arms pay 1 with the probabilities --probs (default 0.8,0.2; else 0), reversed
every --reversal-every trials if given. The two-step models play the two-step task (Daw et
al. 2011: common transitions 0.7, stage-2 reward probabilities drifting between 0.25 and
0.75), where --probs and --reversal-every are refused. The model's parameters are set on
the natural scale with --param NAME=VALUE (defaults: learning rates and alpha_c 0.3; beta,
beta_1, beta_2 4; kappa and w 0.5; lambda 0.6; beta_c 1; lapse 0.05; go/no-go: xi 0.05,
rho 4, b 0.5, pi 1; restless bandit: beta 0.2, phi 1, kappa 2; any other 0.3). The
cohort is a population: each subject's unconstrained theta is the given values' theta plus
N(0, SD^2) noise per parameter, SD = --spread (default 0.5, as in `recover`). With --spread
0 every subject has the given values; EM on such a cohort drives the group variance towards
0 and stops at --max-iterations, not converged.

OUTPUTS
  --out FILE (required): CSV with columns subject, session, trial, action, reward (one row
    per trial; subjects s1, s2, ...; session 1; trials 1, 2, ...; actions 0-based). A
    two-step model writes the two-step layout of `rlgrad --help`: one row per stage (so
    2 x --trials rows per subject, trial counting rows), with the columns state (0 at stage
    1, 1 or 2 at stage 2) and next_state (on stage-1 rows, the stage-2 state reached).
  --truth FILE: CSV, one row per subject: subject, theta_<p>..., <p>... (the generating
    parameters, unconstrained and natural), to check recovery against `fit`.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad simulate --model rw --subjects 30 --trials 200 --out sim.csv
  rlgrad simulate --model rw-dual --param alpha_pos=0.4 --param alpha_neg=0.1 --param beta=5 \\
      --spread 0.5 --probs 0.8,0.2 --reversal-every 50 --out sim.csv --truth truth.csv --seed 7
  rlgrad simulate --model two-step-hybrid --param w=0.8 --subjects 40 --trials 200 \\
      --out two-step.csv --truth truth.csv";

/// The options of `simulate`.
#[derive(Args, Debug)]
#[command(
    about = "Simulate a cohort on a (reversal) bandit or the model's task; writes the long-format CSV",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct SimulateArgs {
    /// The model.
    #[arg(long, value_parser = model_parser(), default_value = "rw")]
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
    let (built, plays) = args.bandit.model(args.model)?;
    let names = built.names();
    let params = Params::new(built.model().layout(), args.model, &args.params)?;
    let sim = simulator(built, args.trials as usize)?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
    let noise = Normal::new(0.0, args.spread).map_err(failed)?;
    let mut subjects: Vec<Subject> = Vec::new();
    let mut truth: Vec<(String, Array1<f64>)> = Vec::new();
    for i in 0..args.subjects as usize {
        let id = format!("s{}", i + 1);
        let theta = params.theta.mapv(|t| t + noise.sample(&mut rng));
        let subject = sim
            .simulate_subject(theta.view(), i, &id, &mut rng)
            .map_err(failed)?;
        subjects.push(subject);
        truth.push((id, theta));
    }

    if let Some(file) = &files[0] {
        write_file(file, |w| write_choices(w, &subjects))?;
    }
    if let Some(file) = &files[1] {
        write_file(file, |w| write_truth(w, sim.layout(), &names, &truth))?;
    }
    writeln!(
        out,
        "simulated {} subjects x {} trials of {} ({}) on {plays}, seed {}",
        args.subjects,
        args.trials,
        args.model.name(),
        params.describe(),
        args.run.seed
    );
    report_written(out, &files, &["choices", "generating parameters"]);
    Ok(())
}

/// The choices CSV: one row per row of the sessions (per stage for a two-step session), with
/// `state` and `next_state` (when the sessions record it) when some row is not in state 0.
fn write_choices(w: &mut impl Write, subjects: &[Subject]) -> Result<(), csv::Error> {
    write_choices_of(w, None, &[("", subjects)])
}

/// The choices CSV of several cohorts in one file: with `lead` = `Some(name)`, a first
/// column `name` holds each cohort's label (`sample --predictive-out` writes one cohort per
/// posterior draw); else the labels are ignored, as for [`write_choices`]. The columns are
/// those of `write_choices`, decided over all cohorts.
pub fn write_choices_of(
    w: &mut impl Write,
    lead: Option<&str>,
    cohorts: &[(&str, &[Subject])],
) -> Result<(), csv::Error> {
    let sessions = || {
        cohorts
            .iter()
            .flat_map(|c| c.1.iter())
            .flat_map(|s| s.sessions())
    };
    let with_state = sessions().any(|s| s.states().iter().any(|&x| x != 0));
    // A one-state task (a bandit) records next states, all 0: nothing to write.
    let with_next = with_state && sessions().any(|s| s.next_states().is_some());
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = lead.into_iter().collect();
    header.extend(["subject", "session", "trial"]);
    if with_state {
        header.push("state");
    }
    header.extend(["action", "reward"]);
    if with_next {
        header.push("next_state");
    }
    out.write_record(&header)?;
    let state = |x: u32| {
        if x == NO_STATE {
            String::new()
        } else {
            x.to_string()
        }
    };
    for &(label, subjects) in cohorts {
        for subject in subjects {
            for s in subject.sessions() {
                for t in 0..s.len() {
                    let mut row: Vec<String> =
                        lead.map(|_| label.to_string()).into_iter().collect();
                    row.extend([
                        subject.id().to_string(),
                        s.id().to_string(),
                        (t + 1).to_string(),
                    ]);
                    if with_state {
                        row.push(s.states()[t].to_string());
                    }
                    let a = s.actions()[t];
                    row.push(if a == MISSED {
                        "NA".to_string()
                    } else {
                        a.to_string()
                    });
                    row.push(number(s.rewards()[t]));
                    if with_next {
                        row.push(s.next_states().map_or_else(String::new, |n| state(n[t])));
                    }
                    out.write_record(&row)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn write_truth(
    w: &mut impl Write,
    layout: &ParamLayout,
    names: &[String],
    truth: &[(String, Array1<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["subject".to_string()];
    header.extend(names.iter().map(|n| format!("theta_{n}")));
    header.extend(names.iter().cloned());
    out.write_record(&header)?;
    for (id, theta) in truth {
        let natural = layout.natural(theta.view())?;
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
