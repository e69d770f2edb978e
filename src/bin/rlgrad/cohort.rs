//! What `simulate` and `recover` share: the bandit the simulated subjects play (or the
//! model's own task), and the model's parameters given on the command line
//! (`--param NAME=VALUE`, with defaults).

use clap::Args;
use ndarray::Array1;
use rlgrad::env::Bandit;
use rlgrad::params::ParamLayout;

use rlgrad::menu::{MenuModel, ModelName, Table};

use crate::common::{Failure, build};

/// The bandit's options.
#[derive(Args, Debug, Clone)]
pub struct BanditArgs {
    /// The arms' reward probabilities, comma-separated (at least two arms; default 0.8,0.2).
    /// Only for models that play a bandit.
    #[arg(long, value_delimiter = ',', value_name = "P,P,...")]
    pub probs: Option<Vec<f64>>,

    /// Reverse the reward probabilities every this many trials. Only for models that play a
    /// bandit.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "K")]
    pub reversal_every: Option<u64>,

    /// Arms of the restless bandit (default 4, as in Daw et al. 2006). Only for the kalman
    /// models.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=16), value_name = "N")]
    pub arms: Option<u64>,
}

impl BanditArgs {
    /// The bandit, with its reversals if asked for (bad options are [`Failure::Usage`]).
    pub fn bandit(&self) -> Result<Bandit, Failure> {
        let probs = self
            .probs
            .clone()
            .unwrap_or_else(|| rlgrad::menu::default_bandit_probs(2));
        let bandit = Bandit::new(probs).map_err(|e| Failure::Usage(format!("--probs: {e}")))?;
        match self.reversal_every {
            Some(k) => bandit
                .with_reversals(k as usize)
                .map_err(|e| Failure::Usage(e.to_string())),
            None => Ok(bandit),
        }
    }

    /// The model `name` to simulate, and what it plays (for stdout): the bandit, or the
    /// model's own task, for which the bandit's options are [`Failure::Usage`].
    pub fn model(&self, name: ModelName) -> Result<(MenuModel, String), Failure> {
        let bandit = self.bandit()?;
        let restless = name.plays_restless_bandit();
        if self.arms.is_some() && !restless {
            return Err(Failure::Usage(format!(
                "--arms sets the restless bandit's arms, but model {} does not play it",
                name.name()
            )));
        }
        let n_actions = match self.arms {
            Some(n) => n as usize,
            None if restless => 4,
            None => bandit.probabilities().len(),
        };
        let built = build(
            name,
            &Table {
                n_states: 1,
                n_actions,
                bandit: Some(&bandit),
            },
        )?;
        match built.own_task_name() {
            Some(task) => {
                if self.probs.is_some() || self.reversal_every.is_some() {
                    return Err(Failure::Usage(format!(
                        "--probs and --reversal-every set the bandit, but model {} plays {task}",
                        name.name()
                    )));
                }
                Ok((built, task.to_string()))
            }
            None => {
                let reversals = self
                    .reversal_every
                    .map_or_else(String::new, |k| format!(" reversed every {k} trials"));
                let plays = format!("a {}-armed bandit{reversals}", bandit.probabilities().len());
                Ok((built, plays))
            }
        }
    }
}

/// A `--param NAME=VALUE` (clap value parser).
pub fn parse_param(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))?;
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a number (in `{s}`)"))?;
    Ok((name.trim().to_string(), v))
}

/// The model's parameters from `--param` (the last one given for a name wins; the others
/// keep their [`ModelName::default_value`]).
pub struct Params {
    /// Every parameter's name and natural value, in θ order.
    pub values: Vec<(String, f64)>,
    /// The same on the unconstrained scale.
    pub theta: Array1<f64>,
}

impl Params {
    /// Checks that every given name is one of the model's (else [`Failure::Usage`] naming
    /// them) and maps the values to θ.
    pub fn new(
        layout: &ParamLayout,
        model_name: ModelName,
        params: &[(String, f64)],
    ) -> Result<Params, Failure> {
        let names: Vec<String> = layout.names().map(str::to_string).collect();
        for (name, _) in params {
            if !names.contains(name) {
                return Err(Failure::Usage(format!(
                    "--param {name}: model {} has no parameter `{name}` (it has {})",
                    model_name.name(),
                    names.join(", ")
                )));
            }
        }
        let values: Vec<(String, f64)> = names
            .into_iter()
            .map(|n| {
                let v = params
                    .iter()
                    .rev()
                    .find(|(p, _)| *p == n)
                    .map_or_else(|| model_name.default_value(&n), |p| p.1);
                (n, v)
            })
            .collect();
        let borrowed: Vec<(&str, f64)> = values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let theta = layout
            .theta_from_natural(&borrowed)
            .map_err(|e| Failure::Usage(format!("--param: {e}")))?;
        Ok(Params { values, theta })
    }

    /// `name=value, ...` for stdout.
    pub fn describe(&self) -> String {
        self.values
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
