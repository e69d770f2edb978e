//! What `simulate` and `recover` share: the bandit the simulated subjects play, and the
//! model's parameters given on the command line (`--param NAME=VALUE`, with defaults).

use clap::Args;
use ndarray::Array1;
use rlgrad::env::Bandit;

use crate::common::{Failure, MenuModel, ModelName, names};

/// The bandit's options.
#[derive(Args, Debug, Clone)]
pub struct BanditArgs {
    /// The arms' reward probabilities, comma-separated (at least two arms).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.8,0.2",
        value_name = "P,P,..."
    )]
    pub probs: Vec<f64>,

    /// Reverse the reward probabilities every this many trials.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "K")]
    pub reversal_every: Option<u64>,
}

impl BanditArgs {
    /// The bandit, with its reversals if asked for (bad options are [`Failure::Usage`]).
    pub fn bandit(&self) -> Result<Bandit, Failure> {
        let bandit =
            Bandit::new(self.probs.clone()).map_err(|e| Failure::Usage(format!("--probs: {e}")))?;
        match self.reversal_every {
            Some(k) => bandit
                .with_reversals(k as usize)
                .map_err(|e| Failure::Usage(e.to_string())),
            None => Ok(bandit),
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

/// A parameter's value on the natural scale when `--param` does not give it.
pub fn default_value(name: &str) -> f64 {
    match name {
        "beta" => 4.0,
        "kappa" => 0.5,
        _ => 0.3,
    }
}

/// The model's parameters from `--param` (the last one given for a name wins; the others
/// keep their [`default_value`]).
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
        model: &MenuModel,
        model_name: ModelName,
        params: &[(String, f64)],
    ) -> Result<Params, Failure> {
        let names = names(model);
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
                    .map_or_else(|| default_value(&n), |p| p.1);
                (n, v)
            })
            .collect();
        let borrowed: Vec<(&str, f64)> = values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let theta = model
            .layout()
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
