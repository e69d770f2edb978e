//! The model menu of the `rlgrad` program, by name: every model the program fits, simulates
//! and compares, with its default MAP prior and its default simulation values, so that the
//! program, the Python package and a Rust caller offer the same models in the same way.
//!
//! A [`ModelName`] is parsed from its kebab-case or snake-case name and built for a [`Table`]
//! (the numbers of states and actions, and the bandit a simulation plays) into a
//! [`MenuModel`]: a [`FitModel`](crate::fit::FitModel) to fit, with its simulator.
//!
//! ```
//! use rlgrad::menu::{ModelName, Table};
//!
//! let name: ModelName = "rw_dual".parse()?;
//! let model = name.build(&Table { n_states: 1, n_actions: 2, bandit: None })?;
//! assert_eq!(model.names(), ["alpha_pos", "alpha_neg", "beta"]);
//! let prior = name.default_prior(&model.names())?; // N(0, 1.5²), N(0, 1.5²), N(1, 1²) on θ
//! assert_eq!(rlgrad::prior::Prior::mean(&prior).to_vec(), [0.0, 0.0, 1.0]);
//! assert_eq!(name.default_value("beta"), 4.0);
//! # Ok::<(), rlgrad::Error>(())
//! ```
//!
//! Adding a model takes a variant of [`ModelName`] (with its name and description) and its
//! arm in [`ModelName::build`]; the manual ([`models_help`]) lists its parameters from the
//! model itself.

mod built;
mod compose;
mod defaults;
mod help;
mod name;
mod prior;
#[cfg(test)]
mod tests;

pub use self::built::{MenuModel, Table};
pub use self::compose::{PAIRS, default_bandit_probs};
pub use self::help::models_help;
pub use self::name::ModelName;
pub use self::prior::{is_inverse_temperature, prior_help};
