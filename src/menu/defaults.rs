//! The default values of the menu's parameters in a simulation.

use super::{ModelName, is_inverse_temperature};

impl ModelName {
    /// The natural-scale value of the model's parameter `param` in a simulation when none is
    /// given (the `rlgrad` program's `simulate` and `recover` without `--param`). The
    /// restless bandit's payoffs are points (1–100), so its β is small and its κ, inside β,
    /// in points; a name the table does not know gets 0.3.
    ///
    /// ```
    /// use rlgrad::menu::ModelName;
    /// assert_eq!(ModelName::Rw.default_value("beta"), 4.0);
    /// assert_eq!(ModelName::Kalman.default_value("beta"), 0.2);
    /// assert_eq!(ModelName::Rw.default_value("alpha"), 0.3);
    /// ```
    pub fn default_value(self, param: &str) -> f64 {
        let restless = self.plays_restless_bandit();
        match param {
            "beta" if restless => 0.2,
            "kappa" if restless => 2.0,
            "phi" => 1.0,
            "xi" => 0.05,
            "b" => 0.5,
            "pi" => 1.0,
            "rho" | "rho_rew" | "rho_pun" => 4.0,
            "kappa" | "w" => 0.5,
            "lambda" => 0.6,
            "beta_c" => 1.0,
            "lapse" => 0.05,
            n if is_inverse_temperature(n) => 4.0,
            _ => 0.3,
        }
    }
}
