//! [`posterior_predictive`]: choices simulated from a posterior's draws, for checking
//! whether the fitted model reproduces what the subjects did.

use ndarray::ArrayView1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::posterior::Posterior;
use crate::check;
use crate::data::{Dataset, Subject};
use crate::error::{Error, Result};
use crate::fit::Simulate;

/// One posterior draw's simulated cohort.
#[derive(Debug, Clone)]
pub struct PredictiveDraw {
    /// The chain of the draw.
    pub chain: usize,
    /// The draw within its chain (after warm-up).
    pub draw: usize,
    /// Every subject simulated at its θᵢ of that draw, with the posterior's subject ids.
    pub data: Dataset,
}

/// Simulates every subject of `posterior` at `n_draws` of its draws, chosen at random
/// (without replacement) by `seed`: for each chosen draw, subject i plays the simulator's
/// task at that draw's θᵢ. The simulated sessions have the simulator's length and task
/// (not the subject's observed rewards): compare summaries of them (choice rates, learning
/// curves, stay probabilities) with the same summaries of the data.
///
/// Draws are simulated in parallel with rayon; each is seeded from `seed` and its position,
/// so the result does not depend on the thread count.
///
/// # Errors
/// [`Error::InvalidLayout`] if the simulator's parameters are not the posterior's (by name,
/// in order); [`Error::InvalidOption`] for `n_draws` = 0 or more than the posterior holds;
/// an error of the simulator.
pub fn posterior_predictive(
    sim: &dyn Simulate,
    posterior: &Posterior,
    n_draws: usize,
    seed: u64,
) -> Result<Vec<PredictiveDraw>> {
    let want: Vec<&str> = posterior.layout().names().collect();
    let got: Vec<&str> = sim.layout().names().collect();
    if want != got {
        return Err(Error::InvalidLayout {
            reason: format!(
                "the simulator's parameters ({}) are not the posterior's ({})",
                got.join(", "),
                want.join(", ")
            ),
        });
    }
    let total = posterior.n_chains() * posterior.n_draws();
    check::at_least_one("predictive draws", n_draws)?;
    if n_draws > total {
        return Err(Error::invalid_option(
            "predictive draws",
            n_draws,
            format!("the posterior holds {total} draws"),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let chosen = rand::seq::index::sample(&mut rng, total, n_draws).into_vec();
    let streams: Vec<u64> = chosen.iter().map(|_| rng.random()).collect();
    chosen
        .par_iter()
        .zip(streams.par_iter())
        .map(|(&at, &stream)| {
            let (chain, draw) = (at / posterior.n_draws(), at % posterior.n_draws());
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            let subjects = posterior
                .subject_ids()
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let theta = posterior.theta(chain, draw, i)?;
                    sim.simulate_subject(ArrayView1::from(theta), i, id, &mut rng)
                })
                .collect::<Result<Vec<Subject>>>()?;
            Ok(PredictiveDraw {
                chain,
                draw,
                data: Dataset::new(subjects)?,
            })
        })
        .collect()
}
