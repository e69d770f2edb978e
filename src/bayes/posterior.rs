//! [`Posterior`]: the draws of a hierarchical fit, the sampler's statistics per draw, and
//! the draws written as CSV.

use std::io::Write;

use serde::Serialize;

use super::hierarchical::Hierarchical;
use super::hyperprior::HyperPrior;
use super::sample::{ChainOutput, SampleOptions};
use crate::check;
use crate::error::{Error, Result};
use crate::params::ParamLayout;

/// The sampler's statistics for one kept draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrawStats {
    /// Whether the trajectory diverged (its energy error exceeded the limit, or it reached
    /// a point where the density is not finite).
    pub divergent: bool,
    /// The tree depth.
    pub depth: u64,
    /// Whether the tree stopped at the maximum depth rather than by a U-turn.
    pub max_depth_reached: bool,
    /// Leapfrog steps (gradient evaluations) of this draw.
    pub n_steps: u64,
    /// The step size the draw was made with.
    pub step_size: f64,
    /// The Hamiltonian's energy at the draw.
    pub energy: f64,
    /// The log density at the draw.
    pub log_density: f64,
}

/// The draws of a hierarchical fit: the group quantities (μ and τ on the θ scale, Ω's
/// correlations), every subject's θᵢ and natural parameters, every subject's
/// log-likelihood ℓᵢ (for LOO and WAIC), and the sampler's statistics.
///
/// Draws are indexed by chain c and draw d (after warm-up).
#[derive(Debug, Clone, Serialize)]
pub struct Posterior {
    layout: ParamLayout,
    subject_ids: Vec<String>,
    group_names: Vec<String>,
    hyper: HyperPrior,
    options: SampleOptions,
    n: usize,
    k: usize,
    /// chains × draws × G.
    group: Vec<f64>,
    /// chains × draws × n × K.
    thetas: Vec<f64>,
    /// chains × draws × n × K.
    natural: Vec<f64>,
    /// chains × draws × n.
    log_lik: Vec<f64>,
    stats: Vec<Vec<DrawStats>>,
    warmup_divergences: Vec<usize>,
    chain_seconds: Vec<f64>,
    gradient_evaluations: Vec<u64>,
    pub(crate) elapsed_seconds: f64,
}

impl Posterior {
    /// An empty posterior of the right shape for `post` sampled with `options`; checks that
    /// its buffers can be held.
    pub(crate) fn empty(post: &Hierarchical<'_>, options: &SampleOptions) -> Result<Posterior> {
        let (n, k) = (post.n_subjects(), post.n_params());
        let g = post.n_group();
        let per_draw = n
            .checked_mul(k)
            .and_then(|nk| nk.checked_mul(2))
            .and_then(|v| v.checked_add(n))
            .and_then(|v| v.checked_add(g));
        // The chains' own buffers and the assembled posterior are alive together while it is
        // assembled: twice the posterior's numbers.
        let total = per_draw
            .and_then(|v| v.checked_mul(options.draws))
            .and_then(|v| v.checked_mul(options.chains))
            .and_then(|v| v.checked_mul(2));
        match total {
            Some(t) if t <= check::MAX_FLOATS => {}
            _ => {
                return Err(Error::invalid_option(
                    "chains × draws",
                    format!("{} × {}", options.chains, options.draws),
                    format!(
                        "the draws of {n} subjects × {k} parameters would exceed {} numbers",
                        check::MAX_FLOATS
                    ),
                ));
            }
        }
        Ok(Posterior {
            layout: post.layout().clone(),
            subject_ids: post.subject_ids().to_vec(),
            group_names: post.group_names(),
            hyper: post.hyper_prior().clone(),
            options: options.clone(),
            n,
            k,
            group: Vec::new(),
            thetas: Vec::new(),
            natural: Vec::new(),
            log_lik: Vec::new(),
            stats: Vec::new(),
            warmup_divergences: Vec::new(),
            chain_seconds: Vec::new(),
            gradient_evaluations: Vec::new(),
            elapsed_seconds: 0.0,
        })
    }

    /// The number of group quantities G.
    pub(crate) fn n_group(&self) -> usize {
        self.group_names.len()
    }

    /// Fills the posterior with its chains' outputs (in chain order).
    pub(crate) fn assemble(mut self, chains: Vec<ChainOutput>) -> Result<Posterior> {
        let (g, t, l) = chains.iter().fold((0, 0, 0), |(g, t, l), c| {
            (g + c.group.len(), t + c.thetas.len(), l + c.log_lik.len())
        });
        self.group.reserve_exact(g);
        self.thetas.reserve_exact(t);
        self.natural.reserve_exact(t);
        self.log_lik.reserve_exact(l);
        for c in chains {
            self.group.extend_from_slice(&c.group);
            for row in c.thetas.chunks_exact(self.k) {
                let nat = self.layout.natural(ndarray::ArrayView1::from(row))?;
                self.natural.extend(nat.values().iter().copied());
            }
            self.thetas.extend_from_slice(&c.thetas);
            self.log_lik.extend_from_slice(&c.log_lik);
            self.stats.push(c.stats);
            self.warmup_divergences.push(c.warmup_divergences);
            self.chain_seconds.push(c.seconds);
            self.gradient_evaluations.push(c.gradient_evaluations);
        }
        Ok(self)
    }

    /// The number of chains.
    pub fn n_chains(&self) -> usize {
        self.options.chains
    }

    /// The number of draws per chain (after warm-up).
    pub fn n_draws(&self) -> usize {
        self.options.draws
    }

    /// The number of subjects n.
    pub fn n_subjects(&self) -> usize {
        self.n
    }

    /// The model's parameter layout.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The subjects' ids, in the data's order.
    pub fn subject_ids(&self) -> &[String] {
        &self.subject_ids
    }

    /// The names of the group quantities: `mu[p]` and `tau[p]` (θ scale), then
    /// `corr[p,q]` (Ω's entries below the diagonal, with LKJ).
    pub fn group_names(&self) -> &[String] {
        &self.group_names
    }

    /// The hyperprior the posterior was sampled under.
    pub fn hyper_prior(&self) -> &HyperPrior {
        &self.hyper
    }

    /// The sampler's settings.
    pub fn options(&self) -> &SampleOptions {
        &self.options
    }

    fn draw_index(&self, chain: usize, draw: usize) -> usize {
        chain * self.options.draws + draw
    }

    /// Group quantity `g`'s draws, one vector per chain.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for `g` ≥ G.
    pub fn group_draws(&self, g: usize) -> Result<Vec<Vec<f64>>> {
        check::index("group quantity", g, self.n_group())?;
        let gn = self.n_group();
        Ok(self.per_chain(|i| self.group[i * gn + g]))
    }

    /// Subject `i`'s parameter `p` per chain, on the natural scale (`natural`) or θ's.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a subject or parameter out of range.
    pub fn subject_draws(&self, i: usize, p: usize, natural: bool) -> Result<Vec<Vec<f64>>> {
        check::index("subject", i, self.n)?;
        check::index("parameter", p, self.k)?;
        let src = if natural { &self.natural } else { &self.thetas };
        let (n, k) = (self.n, self.k);
        Ok(self.per_chain(|d| src[(d * n + i) * k + p]))
    }

    /// Column `q` of [`draw_columns`](Posterior::draw_columns) per chain: a group quantity,
    /// or a subject's natural parameter.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for `q` past the last column.
    pub fn column_draws(&self, q: usize) -> Result<Vec<Vec<f64>>> {
        let n_group = self.n_group();
        if q < n_group {
            return self.group_draws(q);
        }
        let k = self.k;
        check::index("draw column", q, n_group + self.n * k)?;
        let s = q - n_group;
        self.subject_draws(s / k, s % k, true)
    }

    /// Subject `i`'s θᵢ at chain `c`, draw `d`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index out of range.
    pub fn theta(&self, c: usize, d: usize, i: usize) -> Result<&[f64]> {
        check::index("chain", c, self.n_chains())?;
        check::index("draw", d, self.n_draws())?;
        check::index("subject", i, self.n)?;
        let at = (self.draw_index(c, d) * self.n + i) * self.k;
        Ok(&self.thetas[at..at + self.k])
    }

    /// The pointwise log-likelihoods: one row per draw (chains concatenated in order), one
    /// column per subject, ℓᵢ(θᵢ) summed over that subject's trials — the input of
    /// [`loo`](super::loo) and [`waic`](super::waic), with subjects as the observations.
    pub fn log_lik_matrix(&self) -> ndarray::Array2<f64> {
        let rows = self.n_chains() * self.n_draws();
        ndarray::Array2::from_shape_vec((rows, self.n), self.log_lik.clone())
            .expect("chains × draws × n entries")
    }

    fn per_chain(&self, at: impl Fn(usize) -> f64) -> Vec<Vec<f64>> {
        (0..self.n_chains())
            .map(|c| {
                (0..self.n_draws())
                    .map(|d| at(self.draw_index(c, d)))
                    .collect()
            })
            .collect()
    }

    /// The sampler's statistics per chain and draw.
    pub fn stats(&self) -> &[Vec<DrawStats>] {
        &self.stats
    }

    /// Divergent transitions after warm-up, over all chains.
    pub fn divergences(&self) -> usize {
        self.stats.iter().flatten().filter(|s| s.divergent).count()
    }

    /// Divergent transitions during warm-up, per chain (expected early in adaptation;
    /// reported, not flagged).
    pub fn warmup_divergences(&self) -> &[usize] {
        &self.warmup_divergences
    }

    /// Draws whose tree stopped at the maximum depth, over all chains.
    pub fn max_depth_hits(&self) -> usize {
        self.stats
            .iter()
            .flatten()
            .filter(|s| s.max_depth_reached)
            .count()
    }

    /// Gradient evaluations per chain, warm-up included.
    pub fn gradient_evaluations(&self) -> &[u64] {
        &self.gradient_evaluations
    }

    /// Wall time of each chain, and of the whole run (chains in parallel), in seconds.
    pub fn seconds(&self) -> (&[f64], f64) {
        (&self.chain_seconds, self.elapsed_seconds)
    }

    /// The names of the draws' columns in [`write_draws_csv`](Posterior::write_draws_csv)
    /// after `chain` and `draw`: the group quantities, then per subject its natural
    /// parameters `p[subject]`.
    pub fn draw_columns(&self) -> Vec<String> {
        let mut cols = self.group_names.clone();
        for s in &self.subject_ids {
            cols.extend(self.layout.names().map(|p| format!("{p}[{s}]")));
        }
        cols
    }

    /// Writes every kept draw as CSV: a header `chain,draw,` then
    /// [`draw_columns`](Posterior::draw_columns), one row per draw (chain and draw 0-based),
    /// numbers in the shortest form that reads back to the same bits.
    ///
    /// # Errors
    /// [`Error::Write`] if the writer fails. The writer is not buffered here: wrap a file in a
    /// [`std::io::BufWriter`].
    pub fn write_draws_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let fail = |source: std::io::Error| Error::Write {
            what: "the posterior draws as CSV".to_string(),
            source,
        };
        let io = |e: csv::Error| fail(e.into());
        let mut header = vec!["chain".to_string(), "draw".to_string()];
        header.extend(self.draw_columns());
        w.write_record(&header).map_err(io)?;
        let (gn, nk) = (self.n_group(), self.n * self.k);
        let mut row: Vec<String> = Vec::with_capacity(header.len());
        for c in 0..self.n_chains() {
            for d in 0..self.n_draws() {
                let i = self.draw_index(c, d);
                row.clear();
                row.push(c.to_string());
                row.push(d.to_string());
                row.extend(self.group[i * gn..(i + 1) * gn].iter().map(f64::to_string));
                row.extend(
                    self.natural[i * nk..(i + 1) * nk]
                        .iter()
                        .map(f64::to_string),
                );
                w.write_record(&row).map_err(io)?;
            }
        }
        w.flush().map_err(fail)
    }
}
