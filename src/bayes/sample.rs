//! [`sample`]: NUTS on a [`Hierarchical`] posterior, several seeded chains in parallel,
//! through the `nuts-rs` crate (the sampler of PyMC's nutpie).

use std::collections::HashMap;
use std::time::Instant;

use nuts_rs::{
    Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagGradNutsSettings, HasDims, LogpError, Settings,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::hierarchical::{Hierarchical, Scratch};
use super::posterior::{DrawStats, Posterior};
use crate::check;
use crate::error::{Error, Result};

/// The sampler's settings.
///
/// ```
/// use rlgrad::bayes::SampleOptions;
/// let o = SampleOptions { chains: 2, ..SampleOptions::default() };
/// assert!(o.check().is_ok());
/// assert!(SampleOptions { chains: 0, ..o.clone() }.check().is_err());
/// assert!(SampleOptions { warmup: 0, ..o }.check().is_err()); // adaptation needs warm-up
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleOptions {
    /// Independent chains, run in parallel on the current rayon pool (default 4).
    pub chains: usize,
    /// Warm-up (tuning) iterations per chain: step size and a diagonal mass matrix are adapted
    /// and the draws discarded (default 1000).
    pub warmup: usize,
    /// Draws kept per chain after warm-up (default 1000).
    pub draws: usize,
    /// The seed: chain c uses a ChaCha8 stream `c` of this seed, so every chain is
    /// reproducible on its own and on any thread count (default 1).
    pub seed: u64,
    /// The largest tree depth (at most 2^depth − 1 leapfrog steps per draw; default 10).
    pub max_depth: u64,
    /// The step-size adaptation's target acceptance rate, in (0, 1) (default 0.8).
    pub target_accept: f64,
    /// Half-width of the uniform box, on the unconstrained scale, that chains start in
    /// (default 2, as Stan).
    pub init_radius: f64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            chains: 4,
            warmup: 1000,
            draws: 1000,
            seed: 1,
            max_depth: 10,
            target_accept: 0.8,
            init_radius: 2.0,
        }
    }
}

/// Chains sampled at most (a typo guard; 4 is the usual number).
pub const MAX_CHAINS: usize = 1024;

/// Fresh starting points tried per chain before the chain is reported as failed to start.
const INIT_TRIES: usize = 100;

impl SampleOptions {
    /// Checks every option.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option: zero chains, warm-up iterations or draws
    /// (the step size and mass matrix need at least one warm-up iteration), more than
    /// [`MAX_CHAINS`] chains, a depth outside 1..=20, a target outside (0, 1), an initial
    /// radius that is not finite and > 0.
    pub fn check(&self) -> Result<()> {
        check::at_least_one("chains", self.chains)?;
        if self.chains > MAX_CHAINS {
            return Err(Error::invalid_option(
                "chains",
                self.chains,
                format!("at most {MAX_CHAINS}"),
            ));
        }
        check::at_least_one("warmup", self.warmup)?;
        check::at_least_one("draws", self.draws)?;
        if !(1..=20).contains(&self.max_depth) {
            return Err(Error::invalid_option(
                "max_depth",
                self.max_depth,
                "must be in 1..=20",
            ));
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return Err(Error::invalid_option(
                "target_accept",
                self.target_accept,
                "must be in (0, 1)",
            ));
        }
        check::positive("init_radius", self.init_radius)
    }
}

/// Samples the posterior of `model` with NUTS.
///
/// Chains run in parallel on the current rayon pool (install a pool of the size you want
/// around the call). A point where the model's log-likelihood or its gradient is not
/// finite (an overflow at extreme parameters) is treated as a divergence, as Stan does, and
/// counted in the result's statistics; any other error of the model stops sampling and is
/// returned.
///
/// # Errors
/// Invalid options; a chain that found no finite starting point in 100 tries; a sizes
/// product (chains × draws × subjects × parameters) too large to hold; an error of the
/// model other than a non-finite value; an error of the sampler.
pub fn sample(post: &Hierarchical<'_>, options: &SampleOptions) -> Result<Posterior> {
    sample_with_progress(post, options, &|_, _| {})
}

/// [`sample`], calling `progress(chain, iteration)` after every iteration of every chain
/// (iterations count warm-up and draws), from the chains' threads.
///
/// # Errors
/// As [`sample`].
pub fn sample_with_progress(
    post: &Hierarchical<'_>,
    options: &SampleOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Posterior> {
    options.check()?;
    let mut layout = Posterior::empty(post, options)?;
    let started = Instant::now();
    let chains: Vec<ChainOutput> = (0..options.chains)
        .into_par_iter()
        .map(|c| run_chain(post, options, c, &layout, progress))
        .collect::<Result<_>>()?;
    layout.elapsed_seconds = started.elapsed().as_secs_f64();
    layout.assemble(chains)
}

/// What one chain produced.
pub(crate) struct ChainOutput {
    /// Group quantities per draw, draws × G.
    pub group: Vec<f64>,
    /// θ per draw, draws × n × K.
    pub thetas: Vec<f64>,
    /// ℓᵢ per draw, draws × n.
    pub log_lik: Vec<f64>,
    /// Per draw statistics.
    pub stats: Vec<DrawStats>,
    /// Divergences during warm-up.
    pub warmup_divergences: usize,
    /// Wall time of the chain, seconds.
    pub seconds: f64,
    /// Gradient evaluations (leapfrog steps), warm-up included.
    pub gradient_evaluations: u64,
}

/// A chain's density for nuts-rs: the posterior and its buffers.
struct Density<'p, 'a> {
    post: &'p Hierarchical<'a>,
    scratch: Scratch,
}

/// An error of the density, as nuts-rs wants it: recoverable (a divergence) when it is a
/// non-finite value at extreme parameters.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct DensityError(Error);

impl LogpError for DensityError {
    fn is_recoverable(&self) -> bool {
        recoverable(&self.0)
    }
}

/// Whether an error of the density is a non-finite value at extreme parameters (a
/// divergence), rather than a fault of the model.
fn recoverable(e: &Error) -> bool {
    matches!(
        e,
        Error::NonFiniteResult { .. } | Error::InvalidParameter { .. }
    )
}

impl HasDims for Density<'_, '_> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        HashMap::from([("unconstrained_parameter".to_string(), self.post.dim_u64())])
    }
}

impl CpuLogpFunc for Density<'_, '_> {
    type LogpError = DensityError;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        crate::Term::dim(self.post)
    }

    fn logp(
        &mut self,
        position: &[f64],
        grad: &mut [f64],
    ) -> std::result::Result<f64, DensityError> {
        self.post
            .log_density(position, Some(grad), &mut self.scratch)
            .map_err(DensityError)
    }

    fn expand_vector<R: rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> std::result::Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

fn run_chain(
    post: &Hierarchical<'_>,
    options: &SampleOptions,
    c: usize,
    layout: &Posterior,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ChainOutput> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    rng.set_stream(c as u64);
    let mut settings = DiagGradNutsSettings {
        num_tune: options.warmup as u64,
        num_draws: options.draws as u64,
        maxdepth: options.max_depth,
        num_chains: options.chains,
        seed: options.seed,
        ..DiagGradNutsSettings::default()
    };
    settings.adapt_options.step_size_settings.target_accept = options.target_accept;
    let dim = crate::Term::dim(post);
    let density = Density {
        post,
        scratch: post.scratch(),
    };
    let mut chain = settings.new_chain(c as u64, CpuMath::new(density), &mut rng);
    let mut start = vec![0.0; dim];
    let mut last_error = None;
    for _ in 0..INIT_TRIES {
        for v in &mut start {
            *v = rng.random_range(-options.init_radius..options.init_radius);
        }
        // A start must have a finite density and gradient (nuts-rs accepts a recoverable
        // error there and would begin in a divergent spot). Only a non-finite value is worth
        // another try; any other error of the model is returned as it is.
        let mut scratch = post.scratch();
        let mut g = vec![0.0; dim];
        match post.log_density(&start, Some(&mut g), &mut scratch) {
            Ok(_) => {
                last_error = None;
                break;
            }
            Err(e) if recoverable(&e) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(e) = last_error {
        return Err(Error::Sampler {
            reason: format!(
                "chain {c} found no starting point with a finite density in {INIT_TRIES} tries: {e}"
            ),
        });
    }
    chain
        .set_position(&start)
        .map_err(|e| sampler_error(c, e))?;
    let (g_len, nk, n) = (
        layout.n_group(),
        post.n_subjects() * post.n_params(),
        post.n_subjects(),
    );
    let draws = options.draws;
    let mut out = ChainOutput {
        group: vec![0.0; draws * g_len],
        thetas: vec![0.0; draws * nk],
        log_lik: vec![0.0; draws * n],
        stats: Vec::with_capacity(draws),
        warmup_divergences: 0,
        seconds: 0.0,
        gradient_evaluations: 0,
    };
    let mut scratch = post.scratch();
    let total = options.warmup + draws;
    // nuts-rs reports the step size after the iteration's adaptation (jittered for the next
    // draw); a draw's own step size is the one reported by the iteration before it.
    let mut step_size = f64::NAN;
    for it in 0..total {
        let (position, _expanded, stats, info) =
            chain.expanded_draw().map_err(|e| sampler_error(c, e))?;
        out.gradient_evaluations += info.num_steps;
        if it < options.warmup {
            out.warmup_divergences += usize::from(info.diverging);
        } else {
            let d = it - options.warmup;
            let un = post.unpack_into(
                &position,
                &mut scratch,
                &mut out.group[d * g_len..(d + 1) * g_len],
            )?;
            out.thetas[d * nk..(d + 1) * nk].copy_from_slice(un);
            post.subject_log_liks(
                &position,
                &mut scratch,
                &mut out.log_lik[d * n..(d + 1) * n],
            )?;
            out.stats.push(DrawStats {
                divergent: info.diverging,
                depth: stats.depth,
                max_depth_reached: stats.maxdepth_reached,
                n_steps: info.num_steps,
                step_size,
                energy: stats.energy,
                log_density: stats.logp,
            });
        }
        step_size = info.step_size;
        progress(c, it);
    }
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// nuts-rs reports its errors as `anyhow` errors; a density error inside keeps its message.
fn sampler_error(c: usize, e: impl std::fmt::Display) -> Error {
    Error::Sampler {
        reason: format!("chain {c}: NUTS: {e:#}"),
    }
}
