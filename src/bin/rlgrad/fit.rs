//! `rlgrad fit`: MAP per subject under a fixed prior, or empirical-Bayes EM (`--em`).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::data::Dataset;
use rlgrad::fit::{Covariance, EmFit, MapFit, SubjectFit, em_with_progress};
use rlgrad::menu::{ModelName, prior_help};

use crate::common::{
    DataArgs, Outcome, RunArgs, check_outputs, em_options, failed, fit_map, map_options,
    model_parser, number, positive, prior, progress, report_written, short, write_file,
};
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Fit one model to every subject of a long-format CSV file.

By default each subject is fitted separately by MAP (L-BFGS from the prior mean and
--starts - 1 further seeded starts) under a fixed prior on theta: the weakly informative
default (one normal per parameter, by its name: DEFAULT PRIOR below), or an isotropic
N(0, V) with --prior-variance V. With --em the group prior N(mu, Sigma) is estimated
instead, by empirical-Bayes EM with the Laplace approximation (Huys et al. 2011): each
E-step fits every subject by MAP under the current prior, each M-step updates mu and Sigma
(full, or diagonal with --covariance diagonal).

Standard errors come from the exact Hessian of the log posterior at the optimum (Laplace),
mapped to the natural scale by the delta method; a Hessian that is not positive definite
is repaired and the subject flagged. A parameter is weakly identified when the data less
than halved its prior variance, or its 95% interval covers half its range or more.

OUTPUTS
  stdout: a table, one row per subject (estimate and SE per parameter, `*` after weakly
  identified ones; log-likelihood, log posterior, convergence), failures, a summary; with
  --em also mu and the standard deviations of the group prior.
  --out FILE: CSV, one row per subject, in the data's order, columns
    subject, n_trials, theta_<p>... (unconstrained estimates, what `latents --fits` reads),
    <p>, <p>_se ... (natural scale), log_likelihood, log_posterior, bic, aic, converged,
    stop_reason, iterations, grad_norm, hessian_repaired, <p>_weak ..., error
  BIC = -2 loglik + K ln(n_choices), AIC = -2 loglik + 2K, with n_choices the trials with
  a response (n_trials also counts missed trials: an empty or NA action, kept but adding
  nothing; in a two-step file each stage is a row and a choice). A failed subject has its n_trials, converged = false, the reason in `error`,
  and empty numbers.
  --em-json FILE (with --em): JSON with the parameter names, mu, Sigma, whether EM
  converged, and the trace (per iteration: summed log posterior and log-likelihood, mu,
  Sigma, repaired and failed subjects).
The files are written before the table is printed.

Before fitting, the model checks every subject: a two-step file out of layout (see
`rlgrad --help`) is refused with the line, column, subject and session at fault.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad fit choices.csv --model rw-dual --out fits.csv
  rlgrad fit choices.csv --model rw --em --covariance diagonal --out fits.csv --em-json em.json
  rlgrad fit data.csv --action-base 1 --delimiter ';' --prior-variance 4 --out fits.csv
  rlgrad fit two-step.csv --model two-step-hybrid --em --covariance diagonal --out fits.csv";

/// Whether EM's Σ is full or diagonal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CovarianceArg {
    /// a full K x K covariance
    Full,
    /// independent parameters
    Diagonal,
}

impl CovarianceArg {
    pub fn get(self) -> Covariance {
        match self {
            CovarianceArg::Full => Covariance::Full,
            CovarianceArg::Diagonal => Covariance::Diagonal,
        }
    }
}

/// The options of `fit`.
#[derive(Args, Debug)]
#[command(
    about = "Fit a model to every subject (MAP, or EM with --em); results as CSV",
    long_about = format!("{LONG_ABOUT}\n\nDEFAULT PRIOR\n{}", prior_help()),
    after_long_help = AFTER_HELP
)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The model.
    #[arg(long, value_parser = model_parser(), default_value = "rw")]
    pub model: ModelName,

    /// The results CSV (one row per subject); never the data file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Estimate the group prior by empirical-Bayes EM instead of fitting under a fixed prior.
    #[arg(long)]
    pub em: bool,

    /// EM: the group covariance.
    #[arg(long, value_enum, default_value = "full", requires = "em")]
    pub covariance: CovarianceArg,

    /// EM: at most this many iterations.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..), requires = "em", value_name = "N")]
    pub max_iterations: u64,

    /// EM: write mu, Sigma and the trace as JSON.
    #[arg(long, value_name = "FILE", requires = "em")]
    pub em_json: Option<PathBuf>,

    /// MAP: an isotropic prior N(0, V) on theta instead of the weakly informative default.
    #[arg(long, value_name = "V", value_parser = positive, conflicts_with = "em")]
    pub prior_variance: Option<f64>,

    /// Optimiser starts per subject (EM: in the first E-step).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub starts: u64,

    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: &FitArgs, out: &mut Stream<impl Write>, err: &mut Stream<impl Write>) -> Outcome {
    let files = check_outputs(
        &[&args.data.data],
        &[
            ("--out", args.out.as_deref()),
            ("--em-json", args.em_json.as_deref()),
        ],
    )?;
    let d = args.data.read(err)?;
    let built = args.data.model(&d, args.model)?;
    let model = built.model();
    let names = built.names();
    let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
    writeln!(out, "{}", args.data.describe(&d));
    writeln!(
        out,
        "model: {} ({}); {}, {} start(s), seed {}\n",
        args.model.name(),
        names.join(", "),
        if args.em { "EM" } else { "MAP" },
        args.starts,
        args.run.seed
    );
    out.flush();

    let (map_fits, em_fit) = if args.em {
        let options = em_options(args.starts, args.covariance.get(), args.max_iterations);
        let bar = progress(None, args.run.quiet, "{spinner} EM {msg} ({elapsed})");
        let fit = em_with_progress(model, &d.data, &options, &mut rng, |it| {
            bar.set_message(format!(
                "iteration {}, log posterior {:.3}",
                it.iteration + 1,
                it.log_posterior
            ));
        })
        .map_err(failed)?;
        bar.finish_and_clear();
        (Vec::new(), Some(fit))
    } else {
        let prior = prior(args.model, &names, args.prior_variance)?;
        let options = map_options(args.starts);
        let fits = fit_map(model, &d.data, &prior, &options, &mut rng, args.run.quiet)?;
        (fits, None)
    };

    let fits: &[SubjectFit] = em_fit.as_ref().map_or(&map_fits, |f| &f.fits);
    // The files first: a closed stdout must not cost the results.
    if let Some(file) = &files[0] {
        write_file(file, |w| write_results(w, &d.data, &names, fits))?;
    }
    if let (Some(file), Some(fit)) = (&files[1], &em_fit) {
        write_file(file, |w| write_em_json(w, args.model.name(), &names, fit))?;
    }
    print_table(out, &d.data, &names, fits);
    if let Some(fit) = &em_fit {
        writeln!(
            out,
            "\nEM {} after {} iteration(s); group prior on theta:",
            if fit.converged {
                "converged"
            } else {
                "stopped (not converged)"
            },
            fit.trace.len()
        );
        for (i, name) in names.iter().enumerate() {
            writeln!(
                out,
                "  {name:<10} mu {:>10}  sd {:>10}",
                short(fit.mu[i], 4),
                short(fit.sigma[[i, i]].sqrt(), 4)
            );
        }
    }
    report_written(out, &files, &["results", "EM"]);
    Ok(())
}

/// Whether parameter `name` of a fit is weakly identified (`None` if the fit does not say).
fn weak(fit: &MapFit, name: &str) -> Option<bool> {
    fit.identification
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.weak)
}

/// The results CSV (columns in the long help).
pub fn write_results(
    w: &mut impl Write,
    data: &Dataset,
    names: &[String],
    fits: &[SubjectFit],
) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["subject".to_string(), "n_trials".to_string()];
    header.extend(names.iter().map(|n| format!("theta_{n}")));
    for name in names {
        header.push(name.clone());
        header.push(format!("{name}_se"));
    }
    header.extend(
        [
            "log_likelihood",
            "log_posterior",
            "bic",
            "aic",
            "converged",
            "stop_reason",
            "iterations",
            "grad_norm",
            "hessian_repaired",
        ]
        .map(String::from),
    );
    header.extend(names.iter().map(|n| format!("{n}_weak")));
    header.push("error".to_string());
    out.write_record(&header)?;

    let opt = |v: Option<f64>| v.map_or_else(String::new, number);
    for fit in fits {
        let n_trials = data
            .subject(fit.subject())
            .map_or_else(String::new, |s| s.n_trials().to_string());
        let mut row = vec![fit.subject().to_string(), n_trials];
        match fit {
            SubjectFit::Fitted(f) => {
                row.extend(f.theta.iter().map(|&t| number(t)));
                for name in names {
                    row.push(opt(f.params.get(name)));
                    row.push(opt(f.se.get(name)));
                }
                row.push(number(f.log_likelihood));
                row.push(number(f.log_posterior));
                row.push(number(f.bic));
                row.push(number(f.aic));
                row.push(f.converged.to_string());
                row.push(f.stop_reason.clone());
                row.push(f.iterations.to_string());
                row.push(number(f.grad_norm));
                row.push(f.hessian_repaired.to_string());
                for name in names {
                    row.push(weak(f, name).map_or_else(String::new, |w| w.to_string()));
                }
                row.push(String::new());
            }
            SubjectFit::Failed(e) => {
                row.extend(std::iter::repeat_n(String::new(), 3 * names.len() + 4));
                row.push("false".to_string());
                row.extend(std::iter::repeat_n(String::new(), 4 + names.len()));
                row.push(e.error.to_string());
            }
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}

/// A matrix as rows.
pub fn rows(m: &ndarray::Array2<f64>) -> Vec<Vec<f64>> {
    m.outer_iter().map(|r| r.to_vec()).collect()
}

/// The EM JSON file.
pub fn em_json(model: &str, names: &[String], fit: &EmFit) -> serde_json::Value {
    let trace: Vec<serde_json::Value> = fit
        .trace
        .iter()
        .map(|it| {
            serde_json::json!({
                "iteration": it.iteration,
                "log_posterior": it.log_posterior,
                "log_likelihood": it.log_likelihood,
                "mu": it.mu.to_vec(),
                "sigma": rows(&it.sigma),
                "repaired": it.repaired,
                "failed": it.failed,
            })
        })
        .collect();
    serde_json::json!({
        "model": model,
        "parameters": names,
        "scale": "theta (unconstrained)",
        "mu": fit.mu.to_vec(),
        "sigma": rows(&fit.sigma),
        "converged": fit.converged,
        "iterations": fit.trace.len(),
        "trace": trace,
    })
}

fn write_em_json(
    w: &mut impl Write,
    model: &str,
    names: &[String],
    fit: &EmFit,
) -> Result<(), Box<dyn std::error::Error>> {
    serde_json::to_writer_pretty(&mut *w, &em_json(model, names, fit))?;
    writeln!(w)?;
    Ok(())
}

/// The footnote under the table for weakly identified parameters.
const WEAK_NOTE: &str = "* weakly identified: the data less than halved the prior's variance, \
                         or the 95% interval covers half the range or more";

/// The per-subject table on stdout, then the failures and a summary.
pub fn print_table(
    out: &mut Stream<impl Write>,
    data: &Dataset,
    names: &[String],
    fits: &[SubjectFit],
) {
    let id_width = data
        .subjects()
        .iter()
        .map(|s| s.id().chars().count())
        .max()
        .unwrap_or(0)
        .max("subject".len());
    const PARAM_WIDTH: usize = 20;

    let mut header = format!("{:<id_width$}", "subject");
    for name in names {
        header += &format!(" {:>PARAM_WIDTH$} ", format!("{name} (se)"));
    }
    header += &format!(
        " {:>12} {:>12} {:>9}  {}",
        "log_lik", "log_post", "converged", "note"
    );
    writeln!(out, "{header}");

    for fit in fits {
        let mut row = format!("{:<id_width$}", fit.subject());
        match fit {
            SubjectFit::Fitted(f) => {
                for name in names {
                    let cell = match (f.params.get(name), f.se.get(name)) {
                        (Some(v), Some(se)) => format!("{} ({})", short(v, 4), short(se, 4)),
                        _ => "-".to_string(),
                    };
                    let mark = if weak(f, name) == Some(true) {
                        '*'
                    } else {
                        ' '
                    };
                    row += &format!(" {cell:>PARAM_WIDTH$}{mark}");
                }
                let note = if f.hessian_repaired {
                    "Hessian repaired: SEs unreliable"
                } else {
                    ""
                };
                row += &format!(
                    " {:>12} {:>12} {:>9}  {note}",
                    short(f.log_likelihood, 3),
                    short(f.log_posterior, 3),
                    if f.converged { "yes" } else { "no" }
                );
            }
            SubjectFit::Failed(_) => {
                for _ in names {
                    row += &format!(" {:>PARAM_WIDTH$} ", "-");
                }
                row += &format!(" {:>12} {:>12} {:>9}  failed (see below)", "-", "-", "no");
            }
        }
        writeln!(out, "{}", row.trim_end());
    }

    let fitted: Vec<_> = fits.iter().filter_map(SubjectFit::fit).collect();
    let converged = fitted.iter().filter(|f| f.converged).count();
    let repaired = fitted.iter().filter(|f| f.hessian_repaired).count();
    let weakly = fitted
        .iter()
        .filter(|f| !f.weakly_identified().is_empty())
        .count();
    let failed: Vec<_> = fits
        .iter()
        .filter_map(|f| match f {
            SubjectFit::Failed(e) => Some(e),
            SubjectFit::Fitted(_) => None,
        })
        .collect();
    if weakly > 0 {
        writeln!(out, "{WEAK_NOTE}");
    }
    writeln!(out);
    writeln!(
        out,
        "{} subjects: {converged} converged, {repaired} with a repaired Hessian, {weakly} with \
         a weakly identified parameter, {} failed",
        fits.len(),
        failed.len()
    );
    for f in fitted.iter().filter(|f| !f.converged) {
        writeln!(
            out,
            "  not converged: {} (gradient norm {:.2e}; {})",
            f.subject, f.grad_norm, f.stop_reason
        );
    }
    if !failed.is_empty() {
        writeln!(out, "failed subjects:");
        for f in failed {
            writeln!(out, "  {}: {}", f.subject, f.error);
        }
    }
}
