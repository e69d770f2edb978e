//! `rlgrad latents`: the trial-wise latent variables at fitted parameters.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::SubjectFit;
use rlgrad::menu::ModelName;

use crate::common::{
    DataArgs, Failure, Outcome, RunArgs, check_outputs, failed, fit_map, map_options, model_parser,
    positive, prior, write_file,
};
use crate::io::Stream;

const LONG_ABOUT: &str = "\
Export the trial-by-trial latent variables of a model at fitted parameters (regressors for
fMRI and EEG analyses). For the Rescorla-Wagner + softmax models (rw, rw-dual, rw-persev,
rw-dual-persev, rw-per-state); another model is refused (status 2).

The parameters come from a results file of `rlgrad fit` (--fits FILE, which must have been
fitted with the same --model: its theta_<p> columns must be exactly the model's parameters,
and each subject may appear once), or, without --fits, from a MAP fit run here (the options
of `fit`'s MAP: --prior-variance, --starts, --seed). Subjects whose fit failed are left out,
and subjects of the fits file that are not in the data ignored, each with a warning.

OUTPUTS
  --out FILE (required): CSV, one row per trial of every fitted subject, columns
    subject, session, trial, state, action, reward, q_0..q_{A-1}, q_chosen, delta,
    p_0..p_{A-1}, log_lik
  with the values Q before the trial's update, the chosen action's value, the prediction
  error delta, the choice probabilities and the trial's log-likelihood contribution; trial
  is 0-based within its session, actions 0-based.";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad fit choices.csv --model rw --out fits.csv
  rlgrad latents choices.csv --model rw --fits fits.csv --out latents.csv
  rlgrad latents choices.csv --model rw-persev --out latents.csv    # fits on the fly";

/// The options of `latents`.
#[derive(Args, Debug)]
#[command(
    about = "Export trial-wise latents (Q, prediction errors, choice probabilities) at fitted parameters",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct LatentsArgs {
    #[command(flatten)]
    pub data: DataArgs,

    /// The model (the one the fits were made with).
    #[arg(long, value_parser = model_parser(), default_value = "rw")]
    pub model: ModelName,

    /// A results CSV of `rlgrad fit` (else the subjects are fitted here by MAP).
    #[arg(long, value_name = "FILE")]
    pub fits: Option<PathBuf>,

    /// The latents CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// MAP without --fits: an isotropic prior N(0, V) on theta instead of the default.
    #[arg(long, value_name = "V", value_parser = positive, conflicts_with = "fits")]
    pub prior_variance: Option<f64>,

    /// MAP without --fits: optimiser starts per subject.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub starts: u64,

    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(
    args: &LatentsArgs,
    out: &mut Stream<impl Write>,
    err: &mut Stream<impl Write>,
) -> Outcome {
    let mut inputs: Vec<&Path> = vec![&args.data.data];
    inputs.extend(args.fits.as_deref());
    let files = check_outputs(&inputs, &[("--out", Some(&args.out))])?;
    // Before the data are read: a usage error.
    if !args.model.has_latents() {
        return Err(no_latents(args.model));
    }
    let d = args.data.read(err)?;
    let built = args.data.model(&d, args.model)?;
    let model = built.rw().ok_or_else(|| no_latents(args.model))?;
    let names = built.names();

    // A subject's parameters, or None when its fit failed (a warning has said so, once).
    let thetas: HashMap<String, Option<Array1<f64>>> = match &args.fits {
        Some(path) => {
            let rows = read_fits(path, &names, args.model)?;
            let in_data: HashSet<&str> = d.data.subjects().iter().map(|s| s.id()).collect();
            let mut thetas = HashMap::new();
            let mut extra = Vec::new();
            for row in rows {
                if !in_data.contains(row.subject.as_str()) {
                    extra.push(row.subject);
                    continue;
                }
                if row.theta.is_none() {
                    writeln!(
                        err,
                        "rlgrad: warning: {}, line {}: subject `{}` has no estimates (its fit \
                         failed): left out",
                        path.display(),
                        row.line,
                        row.subject
                    );
                }
                thetas.insert(row.subject, row.theta);
            }
            if !extra.is_empty() {
                writeln!(
                    err,
                    "rlgrad: warning: {}: {} not in the data: ignored",
                    path.display(),
                    some_subjects(&extra)
                );
            }
            thetas
        }
        None => {
            let prior = prior(args.model, &names, args.prior_variance)?;
            let options = map_options(args.starts);
            let mut rng = ChaCha8Rng::seed_from_u64(args.run.seed);
            let fits = fit_map(model, &d.data, &prior, &options, &mut rng, args.run.quiet)?;
            let mut thetas = HashMap::new();
            for fit in fits {
                match fit {
                    SubjectFit::Fitted(f) => {
                        thetas.insert(f.subject.clone(), Some(f.theta.clone()));
                    }
                    SubjectFit::Failed(e) => {
                        writeln!(
                            err,
                            "rlgrad: warning: subject `{}` left out: its fit failed: {}",
                            e.subject, e.error
                        );
                        thetas.insert(e.subject.clone(), None);
                    }
                }
            }
            thetas
        }
    };

    let mut buffer: Vec<u8> = Vec::new();
    let mut rows = 0;
    let mut subjects = 0;
    for subject in d.data.subjects() {
        let theta = match thetas.get(subject.id()) {
            Some(Some(theta)) => theta,
            // Its fit failed: already warned.
            Some(None) => continue,
            None => {
                writeln!(
                    err,
                    "rlgrad: warning: subject `{}` left out: no fitted parameters for it in the \
                     fits file",
                    subject.id()
                );
                continue;
            }
        };
        let latents = model
            .latents(theta.view(), subject)
            .map_err(|e| Failure::Data(format!("{}: {e}", args.data.data.display())))?;
        let mut one = Vec::new();
        latents.write_csv(&mut one).map_err(failed)?;
        // One header for the whole file.
        let start = if subjects == 0 {
            0
        } else {
            one.iter()
                .position(|&b| b == b'\n')
                .map_or(one.len(), |i| i + 1)
        };
        buffer.extend_from_slice(&one[start..]);
        rows += latents.len();
        subjects += 1;
    }
    if subjects == 0 {
        return Err(Failure::Failed(
            "no subject has fitted parameters".to_string(),
        ));
    }
    if let Some(file) = &files[0] {
        write_file(file, |w| w.write_all(&buffer))?;
        writeln!(
            out,
            "wrote {rows} trials of {subjects} subjects ({}) to {}",
            args.model.name(),
            file.path().display()
        );
    }
    Ok(())
}

/// The usage error for a model without latents.
fn no_latents(model: ModelName) -> Failure {
    Failure::Usage(format!(
        "model {} has no latents to export: `latents` is for the Rescorla-Wagner + softmax \
         models ({})",
        model.name(),
        ModelName::ALL
            .iter()
            .filter(|m| m.has_latents())
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A subjects list for a message: all of them named, or their count and the first few.
fn some_subjects(subjects: &[String]) -> String {
    const SHOWN: usize = 5;
    let quoted = |s: &[String]| {
        s.iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match subjects.len() {
        1 => format!("subject {} is", quoted(subjects)),
        n if n <= SHOWN => format!("subjects {} are", quoted(subjects)),
        n => format!("{n} subjects ({}, ...) are", quoted(&subjects[..SHOWN - 2])),
    }
}

/// One row of a fits file.
struct FitsRow {
    subject: String,
    /// Its line in the file.
    line: u64,
    /// θ̂, or None when its fit failed (no estimates).
    theta: Option<Array1<f64>>,
}

/// The rows of a results CSV of `rlgrad fit` in file order: θ̂ from its `theta_<p>` columns,
/// which must be exactly the model's parameters; a subject may appear once.
fn read_fits(path: &Path, names: &[String], model: ModelName) -> Result<Vec<FitsRow>, Failure> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Data(format!("cannot read {shown}: {e}")))?;
    // Exact lines for every line end (LF, CRLF, CR), as the data reader counts them.
    let lines = rlgrad::data::Lines::new(&bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| Failure::Data(format!("{shown}: {e}")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let subject_col = column("subject")
        .ok_or_else(|| Failure::Data(format!("{shown}, line 1: no `subject` column")))?;
    let fitted_with = || {
        format!(
            "is it a results file of `rlgrad fit --model {}`?",
            model.name()
        )
    };
    let theta_cols = names
        .iter()
        .map(|n| {
            column(&format!("theta_{n}")).ok_or_else(|| {
                Failure::Data(format!(
                    "{shown}, line 1: no column `theta_{n}`: {}",
                    fitted_with()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, h) in header.iter().enumerate() {
        if let Some(p) = h.strip_prefix("theta_") {
            if !names.iter().any(|n| n == p) {
                return Err(Failure::Data(format!(
                    "{shown}, line 1: column `{h}` is not a parameter of --model {} ({}): {}",
                    model.name(),
                    names.join(", "),
                    fitted_with()
                )));
            }
            if !theta_cols.contains(&i) {
                return Err(Failure::Data(format!(
                    "{shown}, line 1: column `{h}` appears twice"
                )));
            }
        }
    }
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| Failure::Data(format!("{shown}: {e}")))?;
        let line = record
            .position()
            .map_or(0, |p| lines.line_of_record(p.byte()));
        let subject = record.get(subject_col).unwrap_or_default().to_string();
        if let Some(first) = first_line.insert(subject.clone(), line) {
            return Err(Failure::Data(format!(
                "{shown}, line {line}: subject `{subject}` appears twice (first at line {first})"
            )));
        }
        let fields: Vec<&str> = theta_cols
            .iter()
            .map(|&c| record.get(c).unwrap_or_default().trim())
            .collect();
        let theta = if fields.iter().all(|f| f.is_empty()) {
            None
        } else {
            let mut theta = Vec::with_capacity(names.len());
            for (field, name) in fields.iter().zip(names) {
                let v: f64 = field
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| {
                        Failure::Data(format!(
                            "{shown}, line {line}, column `theta_{name}`: value `{field}` is not \
                             a finite number (subject `{subject}`)"
                        ))
                    })?;
                theta.push(v);
            }
            Some(Array1::from(theta))
        };
        rows.push(FitsRow {
            subject,
            line,
            theta,
        });
    }
    Ok(rows)
}
