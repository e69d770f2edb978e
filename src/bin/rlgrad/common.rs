//! What the subcommands share: exit statuses and failures, the data options and reading, the
//! model menu, the prior, the fitting options, MAP fits with a progress bar, output files,
//! the progress bar, numbers in CSV.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array1;
use rand_chacha::ChaCha8Rng;
use rlgrad::Model;
use rlgrad::data::{ActionBase, CsvOptions, Dataset, read_csv};
use rlgrad::env::Bandit;
use rlgrad::fit::{
    Covariance, EmOptions, FitModel, MapOptions, Simulate, Simulator, SubjectFit, TaskSimulator,
    map_with_progress,
};
use rlgrad::learning::RescorlaWagner;
use rlgrad::observation::Softmax;
use rlgrad::prior::MvGaussian;
use rlgrad::task::{GoNoGo, KalmanBandit, RwChoiceKernel, TaskModel, TwoStep};

use crate::io::{OutputFile, Stream, same_file};

/// Exit status: the work failed (a fit, an output file, stdout).
pub const FAILED: u8 = 1;
/// Exit status: bad arguments or bad data.
pub const BAD: u8 = 2;

/// Why a subcommand stopped.
#[derive(Debug)]
pub enum Failure {
    /// A bad command line (status 2).
    Usage(String),
    /// Input data that cannot be read or are malformed (status 2).
    Data(String),
    /// The work or an output failed (status 1).
    Failed(String),
}

impl Failure {
    /// The message for stderr.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Data(m) | Failure::Failed(m) => m,
        }
    }

    /// The exit status.
    pub fn status(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Data(_) => BAD,
            Failure::Failed(_) => FAILED,
        }
    }
}

/// A library error in the work itself (status 1).
pub fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

/// Result of a subcommand.
pub type Outcome = Result<(), Failure>;

/// The field separator of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Delimiter {
    /// `,`
    #[value(name = ",", alias = "comma")]
    Comma,
    /// `;`
    #[value(name = ";", alias = "semicolon")]
    Semicolon,
    /// a tab
    #[value(name = "tab", alias = "\\t", alias = "\t")]
    Tab,
}

impl Delimiter {
    fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }
}

/// The data file and how to read it.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// The long-format CSV file: one row per trial, columns subject, trial, action, reward
    /// (optional: session, state, next_state; others are ignored).
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,

    /// The field separator.
    #[arg(long, value_enum, default_value = ",", value_name = "C")]
    pub delimiter: Delimiter,

    /// The file's first action: 0, or 1 for files that count actions from 1 (Matlab, R,
    /// hBayesDM).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1), value_name = "0|1")]
    pub action_base: u32,

    /// The number of states of the model (default: the highest state in the data + 1). A
    /// state at or above it is refused at its line.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub states: Option<u64>,

    /// The number of actions of the model (default: the highest action in the data + 1, at
    /// least 2). An action at or above it is refused at its line.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..), value_name = "N")]
    pub actions: Option<u64>,
}

/// The data, with the table size of the model to fit.
pub struct Data {
    pub data: Dataset,
    pub n_states: usize,
    pub n_actions: usize,
}

impl DataArgs {
    /// Reads the data file; warnings go to stderr. A file that cannot be read or is
    /// malformed is [`Failure::Data`], with the library's message (line, column, value).
    pub fn read(&self, err: &mut Stream<impl Write>) -> Result<Data, Failure> {
        let options = CsvOptions {
            action_base: if self.action_base == 1 {
                ActionBase::One
            } else {
                ActionBase::Zero
            },
            delimiter: self.delimiter.byte(),
            n_states: self.states.map(|n| n as usize),
            n_actions: self.actions.map(|n| n as usize),
        };
        let (data, report) = read_csv(&self.data, &options).map_err(|e| match e {
            // The I/O error already names the file.
            rlgrad::Error::Io { .. } => Failure::Data(e.to_string()),
            _ => Failure::Data(format!("{}: {e}", self.data.display())),
        })?;
        for warning in &report.warnings {
            writeln!(err, "rlgrad: warning: {}: {warning}", self.data.display());
        }
        let n_states = self.states.map_or(data.n_states().max(1), |n| n as usize);
        let n_actions = self.actions.map_or(data.n_actions().max(2), |n| n as usize);
        Ok(Data {
            data,
            n_states,
            n_actions,
        })
    }

    /// A one-line description for stdout, and a second line with the number of missed
    /// trials (no response) if there are any.
    pub fn describe(&self, d: &Data) -> String {
        let missed = match d.data.n_missed() {
            0 => String::new(),
            n => format!(
                "\nmissed: {n} trial(s) without a response (empty or NA action), kept: they add \
                 nothing to the likelihood"
            ),
        };
        format!(
            "data:  {} ({} subjects, {} trials, {} state(s), {} actions{}){missed}",
            self.data.display(),
            d.data.len(),
            d.data.n_trials(),
            d.n_states,
            d.n_actions,
            if self.action_base == 1 {
                ", read 1-based"
            } else {
                ""
            }
        )
    }
}

impl DataArgs {
    /// The model `name` for the data's table, checked to explain every subject: a task model
    /// checks its task's layout (the two-step task's stage rows, its states and actions). A
    /// subject it cannot explain is [`Failure::Data`], naming the file, and the line and
    /// column of the row at fault when the library's error names a trial.
    pub fn model(&self, d: &Data, name: ModelName) -> Result<Built, Failure> {
        let built = name.build(&Table {
            n_states: d.n_states,
            n_actions: d.n_actions,
            bandit: None,
        })?;
        for subject in d.data.subjects() {
            if let Err(e) = built.model().likelihood(subject) {
                return Err(Failure::Data(self.locate(&e, &name.name())));
            }
        }
        Ok(built)
    }

    /// The message for an error of `model` on the data: with the line of the row at fault
    /// for an [`rlgrad::Error::InvalidTrial`] (found by reading the file again), else the
    /// library's message after the file's name.
    fn locate(&self, e: &rlgrad::Error, model: &str) -> String {
        let shown = self.data.display();
        let plain = format!("{shown}: model {model}: {e}");
        let rlgrad::Error::InvalidTrial {
            subject,
            session,
            trial,
            field,
            value,
            reason,
        } = e
        else {
            return plain;
        };
        let Some((line, has_session)) = self.line_of_row(subject, session, *trial) else {
            return plain;
        };
        let session = if has_session {
            format!(", session `{session}`")
        } else {
            String::new()
        };
        format!(
            "{shown}, line {line}, column `{field}`: value `{value}`: {reason} (subject \
             `{subject}`{session}; model {model})"
        )
    }

    /// The line of row `index` (0-based, in file order) of a subject's session, and whether
    /// the file has a `session` column (without one, every row is session "0", as the
    /// reader has it). `None` if the file cannot be read again or has no such row.
    fn line_of_row(&self, subject: &str, session: &str, index: usize) -> Option<(u64, bool)> {
        let bytes = std::fs::read(&self.data).ok()?;
        let lines = rlgrad::data::Lines::new(&bytes);
        // As the data reader parses: trimmed fields, the same separator.
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .delimiter(self.delimiter.byte())
            .from_reader(bytes.as_slice());
        let header = reader.headers().ok()?.clone();
        let column = |name: &str| header.iter().position(|h| h == name);
        let subject_col = column("subject")?;
        let session_col = column("session");
        let mut seen = 0;
        for record in reader.records() {
            let record = record.ok()?;
            let in_session = session_col.map_or("0", |c| record.get(c).unwrap_or_default());
            if record.get(subject_col) == Some(subject) && in_session == session {
                if seen == index {
                    let line = lines.line_of_record(record.position()?.byte());
                    return Some((line, session_col.is_some()));
                }
                seen += 1;
            }
        }
        None
    }
}

/// The model menu. Adding a model takes a variant here (its doc comment is its line in the
/// manual and in `--model`'s help; its name is the variant's in kebab case) and its arm in
/// [`ModelName::build`]; the manual lists its parameters from the model itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Rescorla-Wagner learning + softmax choice
    Rw,
    /// dual learning rates (positive, negative prediction errors) + softmax
    RwDual,
    /// Rescorla-Wagner + softmax with perseveration (a bonus to repeating the last action)
    RwPersev,
    /// dual learning rates + softmax with perseveration
    RwDualPersev,
    /// Rescorla-Wagner + softmax with one inverse temperature per state (beta_1 for state 0,
    /// beta_2 for state 1, ...)
    RwPerState,
    /// Rescorla-Wagner + softmax + a choice kernel, a habit for the actions chosen (Wilson &
    /// Collins 2019)
    RwKernel,
    /// two-step task (Daw et al. 2011): the hybrid model-based / model-free learner
    TwoStepHybrid,
    /// two-step task: the model-free learner (w = 0)
    TwoStepMf,
    /// two-step task: the model-based learner (w = 1; alpha_1 and lambda have no effect)
    TwoStepMb,
    /// Pavlovian go/no-go (Guitart-Masip et al. 2012; hBayesDM gng_m1): lapse xi, learning
    /// rate epsilon, sensitivity rho. Cues are states 0-3, actions 0 no-go, 1 go
    GngM1,
    /// go/no-go m2: m1 + go bias b
    GngM2,
    /// go/no-go m3: m2 + Pavlovian bias pi
    GngM3,
    /// go/no-go m4: m3 with reward and punishment sensitivities rho_rew, rho_pun
    GngM4,
    /// restless bandit (Daw et al. 2006): Kalman-filter beliefs, softmax with beta (payoffs in
    /// points, so beta is small); one state, one action per arm
    Kalman,
    /// restless bandit: Kalman filter with an exploration bonus phi (Daw et al. 2006)
    KalmanBonus,
    /// restless bandit: Kalman filter with bonus phi and perseveration kappa, both inside beta
    KalmanSmep,
}

/// The Rescorla-Wagner + softmax models of the menu (those with latents).
pub type MenuModel = Model<RescorlaWagner, Softmax>;

/// What a model is built for: the table of the data (or of the bandit), and the bandit a
/// simulation plays (`None` when nothing is simulated).
#[derive(Clone, Copy)]
pub struct Table<'a> {
    pub n_states: usize,
    pub n_actions: usize,
    pub bandit: Option<&'a Bandit>,
}

/// The two-step task, for messages.
const TWO_STEP: &str = "the two-step task (Daw et al. 2011)";

/// The restless bandit, for messages.
const RESTLESS: &str = "the restless bandit (Daw et al. 2006)";

/// The go/no-go task, for messages.
const GO_NOGO: &str = "the go/no-go task (Guitart-Masip et al. 2012)";

impl ModelName {
    /// The name on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_string())
    }

    /// The model for `table` (initial values 0). A model the table does not fit is
    /// [`Failure::Usage`].
    pub fn build(self, table: &Table) -> Result<Built, Failure> {
        use ModelName as M;
        let (n_states, n_actions) = (table.n_states, table.n_actions);
        let built = (|| -> rlgrad::Result<Built> {
            let rw = |rule, obs| Built::rescorla_wagner(rule, obs, table);
            match self {
                M::Rw => rw(RescorlaWagner::new(), Softmax::new()),
                M::RwDual => rw(RescorlaWagner::dual(), Softmax::new()),
                M::RwPersev => rw(RescorlaWagner::new(), Softmax::with_perseveration()),
                M::RwDualPersev => rw(RescorlaWagner::dual(), Softmax::with_perseveration()),
                M::RwPerState => rw(
                    RescorlaWagner::new(),
                    Softmax::per_state(&(0..n_states).collect::<Vec<_>>())?,
                ),
                M::RwKernel => Built::on_bandit(
                    RwChoiceKernel::new(n_states, n_actions)?,
                    table,
                    RwChoiceKernel::with_task,
                ),
                M::TwoStepHybrid => Ok(Built::own_task(TwoStep::hybrid(), TWO_STEP)),
                M::TwoStepMf => Ok(Built::own_task(TwoStep::model_free(), TWO_STEP)),
                M::TwoStepMb => Ok(Built::own_task(TwoStep::model_based(), TWO_STEP)),
                M::GngM1 => Ok(Built::own_task(GoNoGo::m1()?, GO_NOGO)),
                M::GngM2 => Ok(Built::own_task(GoNoGo::m2()?, GO_NOGO)),
                M::GngM3 => Ok(Built::own_task(GoNoGo::m3()?, GO_NOGO)),
                M::GngM4 => Ok(Built::own_task(GoNoGo::m4()?, GO_NOGO)),
                M::Kalman => Ok(Built::own_task(KalmanBandit::new(n_actions)?, RESTLESS)),
                M::KalmanBonus => Ok(Built::own_task(KalmanBandit::daw2006(n_actions)?, RESTLESS)),
                M::KalmanSmep => Ok(Built::own_task(KalmanBandit::smep(n_actions)?, RESTLESS)),
            }
        })();
        built.map_err(|e| Failure::Usage(format!("--model {}: {e}", self.name())))
    }

    /// Whether the model plays the restless bandit (payoffs in points: its β is small and its
    /// κ, inside β, in points).
    pub fn plays_restless_bandit(self) -> bool {
        matches!(
            self,
            ModelName::Kalman | ModelName::KalmanBonus | ModelName::KalmanSmep
        )
    }

    /// Whether the model is one of the two-step task's (one data row per stage).
    pub fn is_two_step(self) -> bool {
        matches!(
            self,
            ModelName::TwoStepHybrid | ModelName::TwoStepMf | ModelName::TwoStepMb
        )
    }

    /// Whether `latents` can export the model's latent variables (the Rescorla-Wagner +
    /// softmax models).
    pub fn has_latents(self) -> bool {
        self.build(&PROBE).is_ok_and(|b| b.rw().is_some())
    }
}

/// A table every model of the menu can be built for, to ask a model about itself.
const PROBE: Table = Table {
    n_states: 3,
    n_actions: 2,
    bandit: None,
};

/// A task model of the menu: fitted like any [`FitModel`], and simulated on its task.
trait TaskEntry: FitModel {
    /// The model simulating one session of `n_trials` trials per subject.
    fn simulator(self: Box<Self>, n_trials: usize) -> rlgrad::Result<Box<dyn Simulate>>;
}

impl<M: TaskModel + 'static> TaskEntry for M {
    fn simulator(self: Box<Self>, n_trials: usize) -> rlgrad::Result<Box<dyn Simulate>> {
        Ok(Box::new(TaskSimulator::new(*self, n_trials)?))
    }
}

/// A model of the menu, built ([`ModelName::build`]).
pub struct Built {
    kind: Kind,
}

enum Kind {
    /// Rescorla-Wagner + softmax: latents, and simulation on the bandit.
    Rw {
        model: MenuModel,
        bandit: Option<Bandit>,
    },
    /// A task model, simulated on the bandit it was given (`task` None) or on its own task.
    Task {
        model: Box<dyn TaskEntry>,
        task: Option<&'static str>,
    },
}

impl Built {
    fn rescorla_wagner(rule: RescorlaWagner, obs: Softmax, table: &Table) -> rlgrad::Result<Built> {
        let model = Model::new(rule, obs, table.n_states, table.n_actions)?;
        Ok(Built {
            kind: Kind::Rw {
                model,
                bandit: table.bandit.cloned(),
            },
        })
    }

    /// A task model that plays the bandit of a simulation: `with_bandit` gives it the
    /// table's bandit, if there is one.
    fn on_bandit<M: TaskModel + 'static>(
        model: M,
        table: &Table,
        with_bandit: impl FnOnce(M, Bandit) -> rlgrad::Result<M>,
    ) -> rlgrad::Result<Built> {
        let model = match table.bandit {
            Some(b) => with_bandit(model, b.clone())?,
            None => model,
        };
        Ok(Built {
            kind: Kind::Task {
                model: Box::new(model),
                task: None,
            },
        })
    }

    /// A task model that simulates its own `task` (named for messages).
    fn own_task<M: TaskModel + 'static>(model: M, task: &'static str) -> Built {
        Built {
            kind: Kind::Task {
                model: Box::new(model),
                task: Some(task),
            },
        }
    }

    /// The model, to fit.
    pub fn model(&self) -> &dyn FitModel {
        match &self.kind {
            Kind::Rw { model, .. } => model,
            Kind::Task { model, .. } => &**model,
        }
    }

    /// The parameter names, in θ order.
    pub fn names(&self) -> Vec<String> {
        self.model().layout().names().map(str::to_string).collect()
    }

    /// The Rescorla-Wagner + softmax model, if it is one (they have latents).
    pub fn rw(&self) -> Option<&MenuModel> {
        match &self.kind {
            Kind::Rw { model, .. } => Some(model),
            Kind::Task { .. } => None,
        }
    }

    /// The task the model simulates when it is not the bandit (its description).
    pub fn own_task_name(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::Rw { .. } => None,
            Kind::Task { task, .. } => *task,
        }
    }

    /// The model simulating `n_trials` trials per subject, on the bandit of its [`Table`] or
    /// on its own task.
    pub fn simulator(self, n_trials: usize) -> Result<Box<dyn Simulate>, Failure> {
        let usage = |e: rlgrad::Error| Failure::Usage(e.to_string());
        match self.kind {
            Kind::Rw { model, bandit } => {
                let bandit = bandit.ok_or_else(|| {
                    Failure::Failed("internal: a simulation without its bandit".to_string())
                })?;
                let env = move |_| Ok::<_, rlgrad::Error>(bandit.clone());
                Ok(Box::new(
                    Simulator::new(model, env, n_trials).map_err(usage)?,
                ))
            }
            Kind::Task { model, .. } => model.simulator(n_trials).map_err(usage),
        }
    }
}

/// The manual's list of models: each one's description and parameters.
pub fn models_help() -> String {
    let mut text = String::new();
    for name in ModelName::value_variants() {
        let help = name
            .to_possible_value()
            .and_then(|v| v.get_help().map(ToString::to_string))
            .unwrap_or_default();
        let params = name.build(&PROBE).map_or_else(
            |f| format!("({})", f.message()),
            |b| {
                let per_state = name
                    .build(&Table {
                        n_states: 2,
                        ..PROBE
                    })
                    .is_ok_and(|two| two.names() != b.names());
                let mut names = b.names().join(", ");
                if per_state {
                    names += &format!(" (for {} states)", PROBE.n_states);
                }
                names
            },
        );
        text += &hanging(&format!("{:<16}{help}", name.name()), 18);
        text += &hanging(&format!("{:<16}parameters: {params}", ""), 18);
    }
    text
}

/// `line` indented by 2 and wrapped at the manual's width, continued `indent` columns in.
fn hanging(line: &str, indent: usize) -> String {
    const WIDTH: usize = 92;
    let mut text = String::from("  ");
    let mut column = 2;
    for (i, word) in line.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 && column + 1 + len > WIDTH && column > indent {
            text += &format!("\n{:indent$}", "");
            column = indent;
        } else if i > 0 {
            text.push(' ');
            column += 1;
        }
        text += word;
        column += len;
    }
    text + "\n"
}

/// Whether `name` is an inverse temperature on the log scale: `beta` or `beta_<k>` (one per
/// stage or state).
pub fn is_inverse_temperature(name: &str) -> bool {
    name == "beta"
        || name
            .strip_prefix("beta_")
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// One rule of the default MAP prior: the parameters it covers, their scale, and the normal
/// distribution N(mean, sd²) on θ.
struct PriorRule {
    covers: fn(&str) -> bool,
    shown: &'static str,
    scale: &'static str,
    mean: f64,
    sd: f64,
}

/// The default MAP prior, by parameter name (the first rule that covers a name).
const PRIOR_RULES: [PriorRule; 6] = [
    PriorRule {
        covers: |n| {
            matches!(
                n,
                "alpha"
                    | "alpha_pos"
                    | "alpha_neg"
                    | "alpha_1"
                    | "alpha_2"
                    | "alpha_c"
                    | "lambda"
                    | "w"
                    | "epsilon"
            )
        },
        shown: "alpha alpha_pos alpha_neg alpha_1 alpha_2 alpha_c lambda w epsilon",
        scale: "logit",
        mean: 0.0,
        sd: 1.5,
    },
    PriorRule {
        covers: is_inverse_temperature,
        shown: "beta beta_1 beta_2 ... (one per stage or state)",
        scale: "log",
        mean: 1.0,
        sd: 1.0,
    },
    PriorRule {
        covers: |n| n == "kappa",
        shown: "kappa",
        scale: "identity",
        mean: 0.0,
        sd: 1.0,
    },
    PriorRule {
        covers: |n| n == "beta_c",
        shown: "beta_c",
        scale: "identity",
        mean: 0.0,
        sd: 2.0,
    },
    PriorRule {
        covers: |n| n == "lapse" || n == "xi",
        shown: "lapse xi",
        scale: "logit",
        mean: -3.0,
        sd: 1.5,
    },
    PriorRule {
        covers: |n| matches!(n, "rho" | "rho_rew" | "rho_pun"),
        shown: "rho rho_rew rho_pun",
        scale: "log",
        mean: 1.0,
        sd: 1.0,
    },
];

/// The standard deviation of the default prior for a parameter no rule covers.
const FALLBACK_SD: f64 = 2.0;

/// The restless bandit's β (log scale) and κ (in points): its payoffs are points (1–100), so
/// β is near 0.1–0.2 (Daw et al. 2006 report 0.11), not near e.
const RESTLESS_BETA: (f64, f64) = (-1.6, 1.0);
const RESTLESS_KAPPA: (f64, f64) = (0.0, 5.0);

/// The default prior of one parameter of `model`: (mean, sd) on θ.
fn default_prior(model: ModelName, name: &str) -> (f64, f64) {
    if model.plays_restless_bandit() {
        match name {
            "beta" => return RESTLESS_BETA,
            "kappa" => return RESTLESS_KAPPA,
            _ => {}
        }
    }
    PRIOR_RULES
        .iter()
        .find(|r| (r.covers)(name))
        .map_or((0.0, FALLBACK_SD), |r| (r.mean, r.sd))
}

/// The manual's table of the default MAP prior.
pub fn prior_help() -> String {
    let normal = |mean: f64, sd: f64| format!("N({mean}, {sd}^2)");
    let row = |shown: &str, scale: &str, prior: &str| format!("  {shown:<60} {scale:<9} {prior}\n");
    let mut text = row("parameters", "scale", "prior on theta");
    for r in &PRIOR_RULES {
        text += &row(r.shown, r.scale, &normal(r.mean, r.sd));
    }
    text += &row("any other parameter", "its own", &normal(0.0, FALLBACK_SD));
    text += &row(
        "kalman models: beta (payoffs in points)",
        "log",
        &normal(RESTLESS_BETA.0, RESTLESS_BETA.1),
    );
    text += &row(
        "kalman models: kappa (inside beta, in points)",
        "identity",
        &normal(RESTLESS_KAPPA.0, RESTLESS_KAPPA.1),
    );
    text
}

/// The MAP prior: isotropic N(0, v·I) on θ when `variance` is given, else the weakly
/// informative default ([`prior_help`]: one independent normal per parameter, by name).
pub fn prior(
    model: ModelName,
    names: &[String],
    variance: Option<f64>,
) -> Result<MvGaussian, Failure> {
    if let Some(v) = variance {
        return MvGaussian::isotropic(names.len(), 0.0, v)
            .map_err(|e| Failure::Usage(format!("--prior-variance: {e}")));
    }
    let (mean, sd): (Vec<f64>, Vec<f64>) = names.iter().map(|n| default_prior(model, n)).unzip();
    MvGaussian::diagonal(Array1::from(mean), Array1::from(sd).mapv(|s: f64| s * s)).map_err(failed)
}

/// MAP options with `starts` optimiser starts per subject (the rest the library's defaults).
pub fn map_options(starts: u64) -> MapOptions {
    MapOptions {
        n_starts: starts as usize,
        ..MapOptions::default()
    }
}

/// EM options: `starts` optimiser starts per subject in the first E-step, the group
/// covariance, at most `max_iterations` iterations (the rest the library's defaults).
pub fn em_options(starts: u64, covariance: Covariance, max_iterations: u64) -> EmOptions {
    EmOptions {
        map: map_options(starts),
        covariance,
        max_iterations: max_iterations as usize,
        ..EmOptions::default()
    }
}

/// Fits every subject by MAP under `prior`, with a progress bar per subject on stderr
/// (see [`progress`]).
pub fn fit_map(
    model: &dyn FitModel,
    data: &Dataset,
    prior: &MvGaussian,
    options: &MapOptions,
    rng: &mut ChaCha8Rng,
    quiet: bool,
) -> Result<Vec<SubjectFit>, Failure> {
    let bar = progress(
        Some(data.len() as u64),
        quiet,
        "fitting [{bar:40}] {pos}/{len} subjects ({elapsed}, eta {eta}) {msg}",
    );
    let fits = map_with_progress(model, data, prior, options, rng, |fit| {
        bar.set_message(fit.subject().to_string());
        bar.inc(1);
    })
    .map_err(failed)?;
    bar.finish_and_clear();
    Ok(fits)
}

/// A positive, finite number (clap value parser).
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number, got `{s}`")),
    }
}

/// Checks the output paths before any work: none may name an input file or another
/// output, and each must be writable. `outputs` pairs each path with its option's name.
pub fn check_outputs(
    inputs: &[&Path],
    outputs: &[(&str, Option<&Path>)],
) -> Result<Vec<Option<OutputFile>>, Failure> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, p)| p.map(|p| (flag, p)))
        .collect();
    for (i, &(flag, path)) in given.iter().enumerate() {
        for input in inputs {
            if same_file(input, path) {
                return Err(Failure::Usage(format!(
                    "`{flag} {}` is the input file {}: refusing to write over an input",
                    path.display(),
                    input.display()
                )));
            }
        }
        for &(other_flag, other) in &given[..i] {
            if same_file(other, path) {
                return Err(Failure::Usage(format!(
                    "`{other_flag}` and `{flag}` both name {}",
                    path.display()
                )));
            }
        }
    }
    outputs
        .iter()
        .map(|&(_, p)| {
            p.map(OutputFile::check)
                .transpose()
                .map_err(Failure::Failed)
        })
        .collect()
}

/// Writes an output file atomically (status 1 on failure).
pub fn write_file<E: std::fmt::Display>(
    file: &OutputFile,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), E>,
) -> Outcome {
    file.write(fill).map_err(Failure::Failed)
}

/// Tells on stdout which output files were written: `what` names each of `files` (the
/// result of [`check_outputs`]) in order; files not asked for are skipped.
pub fn report_written(out: &mut Stream<impl Write>, files: &[Option<OutputFile>], what: &[&str]) {
    for (file, what) in files.iter().zip(what) {
        if let Some(file) = file {
            writeln!(out, "wrote the {what} to {}", file.path().display());
        }
    }
}

/// A progress bar on stderr: hidden with `quiet` or when stderr is not a terminal. With
/// `len` = None, a spinner.
pub fn progress(len: Option<u64>, quiet: bool, template: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(120));
            b
        }
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A number for CSV: the shortest text that reads back to the same `f64` (`{:?}`, which
/// switches to exponent notation for very small or large numbers).
pub fn number(v: f64) -> String {
    format!("{v:?}")
}

/// A number for a table: fixed-point with `decimals`, or scientific when that would be
/// very long or show only zeros.
pub fn short(v: f64, decimals: usize) -> String {
    let a = v.abs();
    if v != 0.0 && a.is_finite() && !(1e-3..1e7).contains(&a) {
        format!("{v:.decimals$e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Options every subcommand has.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Seed for every random choice (optimiser starts, simulation, iBIC draws).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use rlgrad::prior::Prior;

    use super::*;

    #[test]
    fn the_default_prior_follows_the_documented_rules() {
        let names: Vec<String> = [
            "alpha_1", "lambda", "w", "alpha_c", "beta", "beta_2", "beta_12", "kappa", "beta_c",
            "lapse", "beta_x", "xi", "epsilon", "rho_pun", "pi",
        ]
        .map(String::from)
        .to_vec();
        let prior = prior(ModelName::Rw, &names, None).unwrap();
        let sd = prior.marginal_sd().unwrap();
        let expected = [
            (0.0, 1.5),
            (0.0, 1.5),
            (0.0, 1.5),
            (0.0, 1.5),
            (1.0, 1.0),
            (1.0, 1.0),
            (1.0, 1.0),
            (0.0, 1.0),
            (0.0, 2.0),
            (-3.0, 1.5),
            (0.0, 2.0), // not an inverse temperature: the fallback
            (-3.0, 1.5),
            (0.0, 1.5),
            (1.0, 1.0),
            (0.0, 2.0),
        ];
        for (i, (mean, s)) in expected.into_iter().enumerate() {
            assert_eq!(prior.mean()[i], mean, "{}", names[i]);
            assert!((sd[i] - s).abs() < 1e-12, "{}: {} vs {s}", names[i], sd[i]);
        }
        let help = prior_help();
        assert!(help.contains("N(-3, 1.5^2)") && help.contains("any other parameter"));
    }

    #[test]
    fn every_model_builds_and_the_manual_lists_its_parameters() {
        let help = models_help();
        let bandit = Bandit::new(vec![0.7, 0.2, 0.1]).unwrap();
        for &name in ModelName::value_variants() {
            let built = name.build(&PROBE).unwrap();
            assert!(help.contains(&format!("  {:<16}", name.name())), "{name:?}");
            assert!(help.contains(&built.names().join(", ")), "{name:?}");
            assert_eq!(built.rw().is_some(), name.has_latents());
            // For a simulation: the bandit's table, or the model's own task.
            let table = Table {
                n_states: 1,
                n_actions: 3,
                bandit: Some(&bandit),
            };
            let sim = name.build(&table).unwrap().simulator(5).unwrap();
            assert_eq!(sim.n_params(), sim.layout().len());
        }
        for line in help.lines() {
            assert!(line.chars().count() <= 92, "{line}");
        }
        assert!(help.contains("beta_1, beta_2, beta_3 (for 3 states)"));
    }
}
