//! [`ModelName`]: the menu's models, their names and descriptions.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A model of the menu. Its [`name`](ModelName::name) is the variant's in kebab case
/// (`rw-dual`); its [`description`](ModelName::description) is its line in the manual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelName {
    /// Rescorla-Wagner learning + softmax choice.
    Rw,
    /// Dual learning rates (positive, negative prediction errors) + softmax.
    RwDual,
    /// Rescorla-Wagner + softmax with perseveration.
    RwPersev,
    /// Dual learning rates + softmax with perseveration.
    RwDualPersev,
    /// Rescorla-Wagner + softmax with one inverse temperature per state.
    RwPerState,
    /// Rescorla-Wagner + softmax + a choice kernel (Wilson & Collins 2019).
    RwKernel,
    /// The two-step task's hybrid model-based / model-free learner (Daw et al. 2011).
    TwoStepHybrid,
    /// The two-step task's model-free learner (w = 0).
    TwoStepMf,
    /// The two-step task's model-based learner (w = 1).
    TwoStepMb,
    /// Pavlovian go/no-go m1 (Guitart-Masip et al. 2012; hBayesDM gng_m1).
    GngM1,
    /// Go/no-go m2: m1 + go bias.
    GngM2,
    /// Go/no-go m3: m2 + Pavlovian bias.
    GngM3,
    /// Go/no-go m4: m3 with reward and punishment sensitivities.
    GngM4,
    /// Restless bandit: Kalman-filter beliefs + softmax (Daw et al. 2006).
    Kalman,
    /// Restless bandit: Kalman filter with an exploration bonus.
    KalmanBonus,
    /// Restless bandit: Kalman filter with bonus and perseveration, both inside β.
    KalmanSmep,
}

impl ModelName {
    /// Every model, in the manual's order.
    pub const ALL: [ModelName; 16] = [
        ModelName::Rw,
        ModelName::RwDual,
        ModelName::RwPersev,
        ModelName::RwDualPersev,
        ModelName::RwPerState,
        ModelName::RwKernel,
        ModelName::TwoStepHybrid,
        ModelName::TwoStepMf,
        ModelName::TwoStepMb,
        ModelName::GngM1,
        ModelName::GngM2,
        ModelName::GngM3,
        ModelName::GngM4,
        ModelName::Kalman,
        ModelName::KalmanBonus,
        ModelName::KalmanSmep,
    ];

    /// The name, in kebab case: `rw-dual`, as the `rlgrad` program's `--model` takes it.
    ///
    /// ```
    /// assert_eq!(rlgrad::menu::ModelName::TwoStepMf.name(), "two-step-mf");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ModelName::Rw => "rw",
            ModelName::RwDual => "rw-dual",
            ModelName::RwPersev => "rw-persev",
            ModelName::RwDualPersev => "rw-dual-persev",
            ModelName::RwPerState => "rw-per-state",
            ModelName::RwKernel => "rw-kernel",
            ModelName::TwoStepHybrid => "two-step-hybrid",
            ModelName::TwoStepMf => "two-step-mf",
            ModelName::TwoStepMb => "two-step-mb",
            ModelName::GngM1 => "gng-m1",
            ModelName::GngM2 => "gng-m2",
            ModelName::GngM3 => "gng-m3",
            ModelName::GngM4 => "gng-m4",
            ModelName::Kalman => "kalman",
            ModelName::KalmanBonus => "kalman-bonus",
            ModelName::KalmanSmep => "kalman-smep",
        }
    }

    /// One line on the model: its line in the `rlgrad` program's manual and `--model` help.
    pub fn description(self) -> &'static str {
        match self {
            ModelName::Rw => "Rescorla-Wagner learning + softmax choice",
            ModelName::RwDual => {
                "dual learning rates (positive, negative prediction errors) + softmax"
            }
            ModelName::RwPersev => {
                "Rescorla-Wagner + softmax with perseveration (a bonus to repeating the last \
                 action)"
            }
            ModelName::RwDualPersev => "dual learning rates + softmax with perseveration",
            ModelName::RwPerState => {
                "Rescorla-Wagner + softmax with one inverse temperature per state (beta_1 for \
                 state 0, beta_2 for state 1, ...)"
            }
            ModelName::RwKernel => {
                "Rescorla-Wagner + softmax + a choice kernel, a habit for the actions chosen \
                 (Wilson & Collins 2019)"
            }
            ModelName::TwoStepHybrid => {
                "two-step task (Daw et al. 2011): the hybrid model-based / model-free learner"
            }
            ModelName::TwoStepMf => "two-step task: the model-free learner (w = 0)",
            ModelName::TwoStepMb => {
                "two-step task: the model-based learner (w = 1; alpha_1 and lambda have no \
                 effect)"
            }
            ModelName::GngM1 => {
                "Pavlovian go/no-go (Guitart-Masip et al. 2012; hBayesDM gng_m1): lapse xi, \
                 learning rate epsilon, sensitivity rho. Cues are states 0-3, actions 0 no-go, \
                 1 go"
            }
            ModelName::GngM2 => "go/no-go m2: m1 + go bias b",
            ModelName::GngM3 => "go/no-go m3: m2 + Pavlovian bias pi",
            ModelName::GngM4 => {
                "go/no-go m4: m3 with reward and punishment sensitivities rho_rew, rho_pun"
            }
            ModelName::Kalman => {
                "restless bandit (Daw et al. 2006): Kalman-filter beliefs, softmax with beta \
                 (payoffs in points, so beta is small); one state, one action per arm"
            }
            ModelName::KalmanBonus => {
                "restless bandit: Kalman filter with an exploration bonus phi (Daw et al. 2006)"
            }
            ModelName::KalmanSmep => {
                "restless bandit: Kalman filter with bonus phi and perseveration kappa, both \
                 inside beta"
            }
        }
    }

    /// The model named `s`, in kebab or snake case, in any letter case (`rw-dual`, `rw_dual`,
    /// `RW_Dual`).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (option `model`) for a name that is none of the menu's; the
    /// message lists the names.
    ///
    /// ```
    /// use rlgrad::menu::ModelName;
    /// assert_eq!(ModelName::from_name("Two_Step_MF")?, ModelName::TwoStepMf);
    /// assert!(ModelName::from_name("rw3").unwrap_err().to_string().contains("rw-dual"));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn from_name(s: &str) -> Result<ModelName> {
        let wanted = s.to_ascii_lowercase().replace('_', "-");
        ModelName::ALL
            .into_iter()
            .find(|m| m.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = ModelName::ALL.iter().map(|m| m.name()).collect();
                Error::invalid_option(
                    "model",
                    format_args!("`{s}`"),
                    format!(
                        "no such model; the models are {} (kebab or snake case)",
                        names.join(", ")
                    ),
                )
            })
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
}

impl FromStr for ModelName {
    type Err = Error;

    /// [`ModelName::from_name`].
    fn from_str(s: &str) -> Result<ModelName> {
        ModelName::from_name(s)
    }
}

impl fmt::Display for ModelName {
    /// The kebab-case [`name`](ModelName::name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
