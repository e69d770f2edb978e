//! The default MAP prior of the menu's models: one independent normal on θ per parameter,
//! by the parameter's name.

use ndarray::Array1;

use super::ModelName;
use crate::Result;
use crate::prior::MvGaussian;

/// Whether `name` is an inverse temperature on the log scale: `beta` or `beta_<k>` (one per
/// stage or state).
///
/// ```
/// use rlgrad::menu::is_inverse_temperature;
/// assert!(is_inverse_temperature("beta") && is_inverse_temperature("beta_12"));
/// assert!(!is_inverse_temperature("beta_c") && !is_inverse_temperature("beta_"));
/// ```
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

impl ModelName {
    /// The default prior of the model's parameter `param`: (mean, sd) of its normal on θ
    /// (the table of [`prior_help`]; N(0, 2²) for a name no rule covers).
    ///
    /// ```
    /// use rlgrad::menu::ModelName;
    /// assert_eq!(ModelName::Rw.default_prior_of("alpha"), (0.0, 1.5));
    /// assert_eq!(ModelName::Kalman.default_prior_of("beta"), (-1.6, 1.0));
    /// ```
    pub fn default_prior_of(self, param: &str) -> (f64, f64) {
        if self.plays_restless_bandit() {
            match param {
                "beta" => return RESTLESS_BETA,
                "kappa" => return RESTLESS_KAPPA,
                _ => {}
            }
        }
        PRIOR_RULES
            .iter()
            .find(|r| (r.covers)(param))
            .map_or((0.0, FALLBACK_SD), |r| (r.mean, r.sd))
    }

    /// The default MAP prior of the parameters `names` (in θ order, usually
    /// [`MenuModel::names`](super::MenuModel::names)): independent normals on θ, each
    /// [`default_prior_of`](ModelName::default_prior_of) its name.
    ///
    /// # Errors
    /// As [`MvGaussian::diagonal`] (no names, or too many).
    pub fn default_prior(self, names: &[String]) -> Result<MvGaussian> {
        let (mean, sd): (Vec<f64>, Vec<f64>) =
            names.iter().map(|n| self.default_prior_of(n)).unzip();
        MvGaussian::diagonal(Array1::from(mean), Array1::from(sd).mapv(|s: f64| s * s))
    }
}

/// The manual's table of the default MAP prior: one row per rule (the parameters it covers,
/// their scale, the normal on θ), then the fallback and the restless bandit's exceptions.
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
