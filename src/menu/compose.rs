//! [`ModelName::compose`]: the menu's models named as a learning rule and an observation
//! model (`("rw_dual", "softmax")`), as the Python package's `Model(rule, observation)`
//! takes them.

use super::ModelName;
use crate::{Error, Result};

/// The learning rules and observation models that compose into a model of the menu, and the
/// model each pair is.
pub const PAIRS: [(&str, &str, ModelName); 6] = [
    ("rw", "softmax", ModelName::Rw),
    ("rw_dual", "softmax", ModelName::RwDual),
    ("rw", "softmax_persev", ModelName::RwPersev),
    ("rw_dual", "softmax_persev", ModelName::RwDualPersev),
    ("rw", "softmax_per_state", ModelName::RwPerState),
    ("rw", "choice_kernel", ModelName::RwKernel),
];

impl ModelName {
    /// The model a learning rule and an observation model compose into (snake or kebab
    /// case, any case; `softmax_perseveration` for `softmax_persev`). The task models
    /// (two-step, go/no-go, restless bandit) are a rule and a choice fused: they are named
    /// alone ([`ModelName::from_name`]).
    ///
    /// ```
    /// use rlgrad::menu::ModelName;
    /// assert_eq!(ModelName::compose("rw_dual", "softmax")?, ModelName::RwDual);
    /// assert_eq!(ModelName::compose("RW", "softmax-persev")?, ModelName::RwPersev);
    /// assert!(ModelName::compose("rw", "logistic").is_err());
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a pair that is not in [`PAIRS`], listing the pairs.
    pub fn compose(rule: &str, observation: &str) -> Result<ModelName> {
        let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
        let (r, mut o) = (norm(rule), norm(observation));
        if o == "softmax_perseveration" {
            o = "softmax_persev".to_string();
        }
        PAIRS
            .iter()
            .find(|(pr, po, _)| *pr == r && *po == o)
            .map(|p| p.2)
            .ok_or_else(|| {
                let pairs: Vec<String> = PAIRS
                    .iter()
                    .map(|(r, o, _)| format!("({r}, {o})"))
                    .collect();
                Error::invalid_option(
                    "model",
                    format_args!("rule `{rule}` with observation `{observation}`"),
                    format!(
                        "no model of the menu composes them; the pairs are {}; the task \
                         models are named alone",
                        pairs.join(", ")
                    ),
                )
            })
    }
}

/// The reward probabilities of the bandit the Rescorla-Wagner models simulate on when none
/// is given: 0.8 for action 0 and 0.2 for every other action (`[0.8, 0.2]` for two).
///
/// ```
/// assert_eq!(rlgrad::menu::default_bandit_probs(3), [0.8, 0.2, 0.2]);
/// ```
pub fn default_bandit_probs(n_actions: usize) -> Vec<f64> {
    (0..n_actions)
        .map(|a| if a == 0 { 0.8 } else { 0.2 })
        .collect()
}
