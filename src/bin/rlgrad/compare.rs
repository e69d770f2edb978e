//! `rlgrad compare`: several models fitted by EM to one data set, scored by BIC, AIC, Laplace
//! evidence and iBIC.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::data::Dataset;
use rlgrad::fit::{CompareOptions, Comparison, Criterion, FitModel, compare};
use rlgrad::menu::{MenuModel, ModelName};

use crate::common::{
    DataArgs, Failure, Outcome, RunArgs, check_outputs, em_options, failed, model_parser, number,
    progress, report_written, write_file,
};
use crate::fit::CovarianceArg;
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Compare several models on one data set.

Each model is fitted to the whole cohort by empirical-Bayes EM (as `fit --em`), then scored:
per subject BIC = -2 loglik + K ln(n_choices), AIC = -2 loglik + 2K and the Laplace log
evidence at its MAP fit under the model's group prior, summed over subjects; and the
integrated BIC of the cohort, iBIC = -2 sum_i ln((1/S) sum_s p(choices_i | theta_s)) +
G ln(n), theta_s drawn S times (--ibic-samples) from the group prior, n all choices, G the
group parameters (2K for a diagonal Sigma, K + K(K+1)/2 for a full one). BIC, AIC and iBIC:
smaller is better; Laplace evidence: larger is better. Choices are the trials with a
response: a missed trial (an empty or NA action) is kept but adds nothing.

OUTPUTS
  stdout: the comparison table (K, summed BIC, AIC, Laplace evidence, iBIC and its
  difference from the best, subjects won by BIC/AIC/Laplace, failed subjects) and the best
  model by each criterion.
  --out FILE: CSV, one row per model: model, n_params, bic, aic, laplace, ibic, delta_ibic,
    ibic_samples, wins_bic, wins_aic, wins_laplace, n_failed, em_converged, em_iterations
  --subjects FILE: CSV, one row per subject and model: subject, model, bic, aic, laplace
    (empty where that subject's fit failed)
  --json FILE: everything above plus each model's parameter names, mu, Sigma and EM trace.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad compare choices.csv --model rw --model rw-dual --model rw-persev --out compare.csv
  rlgrad compare choices.csv --model rw,rw-dual --covariance diagonal --ibic-samples 5000 \\
      --subjects per-subject.csv --json compare.json
  rlgrad compare two-step.csv --model two-step-hybrid,two-step-mf,two-step-mb --out compare.csv";

/// The options of `compare`.
#[derive(Args, Debug)]
#[command(
    about = "Compare models on one data set (EM per model; BIC, AIC, Laplace, iBIC)",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct CompareArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The models to compare (repeat the option or separate by commas; at least two).
    #[arg(long, value_parser = model_parser(), required = true, num_args = 1.., value_delimiter = ',')]
    pub model: Vec<ModelName>,

    /// The group covariance of each model's EM.
    #[arg(long, value_enum, default_value = "full")]
    pub covariance: CovarianceArg,

    /// S, the draws from each group prior for the iBIC.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..), value_name = "S")]
    pub ibic_samples: u64,

    /// EM: at most this many iterations per model.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub max_iterations: u64,

    /// Optimiser starts per subject in EM's first E-step.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub starts: u64,

    /// The per-model CSV.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The per-subject CSV.
    #[arg(long, value_name = "FILE")]
    pub subjects: Option<PathBuf>,

    /// Everything as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(
    args: &CompareArgs,
    out: &mut Stream<impl Write>,
    err: &mut Stream<impl Write>,
) -> Outcome {
    for (i, m) in args.model.iter().enumerate() {
        if args.model[..i].contains(m) {
            return Err(Failure::Usage(format!(
                "`--model {}` is given twice",
                m.name()
            )));
        }
    }
    if args.model.len() < 2 {
        return Err(Failure::Usage(
            "compare needs at least two models (`--model rw --model rw-dual`)".to_string(),
        ));
    }
    let files = check_outputs(
        &[&args.data.data],
        &[
            ("--out", args.out.as_deref()),
            ("--subjects", args.subjects.as_deref()),
            ("--json", args.json.as_deref()),
        ],
    )?;
    let d = args.data.read(err)?;
    let built = args
        .model
        .iter()
        .map(|&m| args.data.model(&d, m))
        .collect::<Result<Vec<_>, _>>()?;
    let models: Vec<(&str, &dyn FitModel)> = args
        .model
        .iter()
        .zip(&built)
        .map(|(m, b)| (m.name(), b.model()))
        .collect();
    let options = CompareOptions {
        em: em_options(args.starts, args.covariance.get(), args.max_iterations),
        ibic_samples: args.ibic_samples as usize,
    };
    writeln!(out, "{}", args.data.describe(&d));
    writeln!(
        out,
        "models: {}; EM ({:?} covariance), iBIC from {} draws, seed {}\n",
        models.iter().map(|m| m.0).collect::<Vec<_>>().join(", "),
        args.covariance,
        args.ibic_samples,
        args.run.seed
    );
    out.flush();
    let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
    let bar = progress(
        None,
        args.run.quiet,
        "{spinner} comparing {msg} ({elapsed})",
    );
    bar.set_message(format!("{} models", models.len()));
    let comparison = compare(&models, &d.data, &options, &mut rng).map_err(failed)?;
    bar.finish_and_clear();

    if let Some(file) = &files[0] {
        write_file(file, |w| write_models(w, &comparison))?;
    }
    if let Some(file) = &files[1] {
        write_file(file, |w| write_subjects(w, &d.data, &comparison))?;
    }
    if let Some(file) = &files[2] {
        let all_names: Vec<Vec<String>> = built.iter().map(MenuModel::names).collect();
        write_file(file, |w| write_json(w, &d.data, &comparison, &all_names))?;
    }
    write!(out, "{}", comparison.table());
    writeln!(out);
    for criterion in Criterion::ALL {
        writeln!(
            out,
            "best by {:<8} {}",
            format!("{}:", criterion.name()),
            comparison.best(criterion).1
        );
    }
    report_written(
        out,
        &files,
        &["per-model table", "per-subject scores", "JSON"],
    );
    Ok(())
}

fn write_models(w: &mut impl Write, c: &Comparison) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "model",
        "n_params",
        "bic",
        "aic",
        "laplace",
        "ibic",
        "delta_ibic",
        "ibic_samples",
        "wins_bic",
        "wins_aic",
        "wins_laplace",
        "n_failed",
        "em_converged",
        "em_iterations",
    ])?;
    let best = c.models[c.best(Criterion::Ibic).0].ibic.ibic;
    for m in &c.models {
        out.write_record([
            m.name.clone(),
            m.n_params.to_string(),
            number(m.bic),
            number(m.aic),
            number(m.laplace),
            number(m.ibic.ibic),
            number(m.ibic.ibic - best),
            m.ibic.n_samples.to_string(),
            m.wins[0].to_string(),
            m.wins[1].to_string(),
            m.wins[2].to_string(),
            m.n_failed.to_string(),
            m.em.converged.to_string(),
            m.em.trace.len().to_string(),
        ])?;
    }
    out.flush()?;
    Ok(())
}

fn write_subjects(w: &mut impl Write, data: &Dataset, c: &Comparison) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(["subject", "model", "bic", "aic", "laplace"])?;
    for (i, subject) in data.subjects().iter().enumerate() {
        for m in &c.models {
            let s = m.subjects[i];
            let v = |f: fn(&rlgrad::fit::SubjectScores) -> f64| {
                s.as_ref().map_or_else(String::new, |s| number(f(s)))
            };
            out.write_record([
                subject.id().to_string(),
                m.name.clone(),
                v(|s| s.bic),
                v(|s| s.aic),
                v(|s| s.laplace),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}

fn write_json(
    w: &mut impl Write,
    data: &Dataset,
    c: &Comparison,
    names: &[Vec<String>],
) -> Result<(), Box<dyn std::error::Error>> {
    let models: Vec<serde_json::Value> = c
        .models
        .iter()
        .zip(names)
        .map(|(m, names)| {
            let mut em = crate::fit::em_json(&m.name, names, &m.em);
            if let Some(obj) = em.as_object_mut() {
                obj.remove("model");
                obj.remove("parameters");
            }
            serde_json::json!({
                "model": m.name,
                "parameters": names,
                "n_params": m.n_params,
                "bic": m.bic,
                "aic": m.aic,
                "laplace": m.laplace,
                "ibic": m.ibic,
                "n_failed": m.n_failed,
                "wins": {"bic": m.wins[0], "aic": m.wins[1], "laplace": m.wins[2]},
                "subjects": m.subjects,
                "em": em,
            })
        })
        .collect();
    let best: serde_json::Map<String, serde_json::Value> = Criterion::ALL
        .iter()
        .map(|&k| (k.name().to_string(), c.best(k).1.into()))
        .collect();
    serde_json::to_writer_pretty(
        &mut *w,
        &serde_json::json!({
            "subjects": data.subjects().iter().map(|s| s.id()).collect::<Vec<_>>(),
            "models": models,
            "best": best,
        }),
    )?;
    writeln!(w)?;
    Ok(())
}
