//! [`RwSoftmaxCohort`]: Rescorla–Wagner + softmax for many subjects at once, eight subjects
//! per SIMD instruction (the layout, dispatch and accuracy are in the type's docs).

use ndarray::ArrayView1;

use super::kernel::{Job, LANES, MAX_COHORT_ACTIONS, RECORD, SimdLevel};
use super::{Cohort, check_args};
use crate::check;
use crate::data::{MISSED, Subject};
use crate::error::{Error, Result};
use crate::learning::RescorlaWagner;
use crate::model::Model;
use crate::observation::Softmax;

/// Value tables of at most this many entries (states × actions) live on the stack; larger
/// ones are allocated once per call.
const STACK_ENTRIES: usize = 64;

/// Rescorla–Wagner + softmax log-likelihoods of many subjects, eight per SIMD instruction.
///
/// # Layout
///
/// Subjects are taken eight at a time (a *lane group*; the last is padded). Each subject's
/// sessions are laid end to end, and the group's trials interleaved lane by lane, once, at
/// construction: for trial t of the group, 24 numbers
///
/// ```text
/// [ action (8 lanes) | reward (8 lanes) | carry (8 lanes) ]
/// ```
///
/// where the action is the chosen action as a number, or −1 for a missed trial and for the
/// padding after a subject's last trial (ragged trial counts) and in empty lanes; carry is 0
/// on the first trial of each session (values start afresh) and 1 elsewhere. With more than
/// one state, a second array holds each lane's row offset s·A in the value table. A group
/// costs as many trials as its longest subject.
///
/// # The kernel and its dispatch
///
/// The loop over a lane group's trials is in `kernel.rs` (documented there): the scalar
/// path's arithmetic ([`Likelihood`](crate::Likelihood)) on lanes of f64, compiled three
/// times by the `multiversion` crate (no `unsafe` in this crate) — AVX-512, AVX2 + FMA, and
/// the build target's baseline. [`SimdLevel::detected`] picks the widest the CPU has, once,
/// when the cohort is built; [`RwSoftmaxCohort::with_level`] forces another (the tests
/// compare every level the CPU has with the baseline). Fused multiply-adds are chosen inside
/// each copy from the features it is compiled with, never by `cfg!`.
///
/// Around the kernel, per subject: ψ = g(θ) with g′(θ) from the crate's own transform code
/// (and the components' range checks), and afterwards the chain rule ∂ℓ/∂θ = ∂ℓ/∂ψ · g′(θ)
/// and the check that value and gradient are finite. A call allocates nothing, except the
/// value table of a model with more than 64 states × actions.
///
/// # Accuracy
///
/// The arithmetic is the scalar path's, formula for formula, but fused multiply-adds, another
/// exponential and another order of the per-session sums move results by a few ulp: values
/// and gradients agree with the scalar path to 1e-13 of max(|scalar|, 1) (the tests'
/// tolerance, with the floor of [`testing`](crate::testing): a gradient entry that nearly
/// cancels is compared absolutely). The value is the same bits from [`Cohort::values`] and
/// [`Cohort::values_and_grads`] at one level.
///
/// # Coverage
///
/// It covers the plain configuration: [`RescorlaWagner::new`] (one learning rate, a fixed q₀,
/// any transforms) with [`Softmax::new`] (one β), any number of states, 2 to
/// [`MAX_COHORT_ACTIONS`] actions, several sessions per subject, missed trials (with
/// [`Missed::Skip`](crate::learning::Missed) or `Learn`, which are the same for this rule).
/// [`FitModel::cohort`](crate::fit::FitModel::cohort) returns it for such a model.
///
/// ```
/// use rlgrad::cohort::{Cohort, RwSoftmaxCohort};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let subjects = vec![
///     Subject::new("a", vec![Session::bandit("1", vec![0, 1, 1], vec![1.0, 0.0, 1.0])?])?,
///     Subject::new("b", vec![Session::bandit("1", vec![1, 1], vec![0.0, 1.0])?])?,
/// ];
/// let cohort = RwSoftmaxCohort::new(&model, &subjects)?;
/// let thetas = [0.0, 1.0, -1.0, 0.5]; // (logit α, ln β) per subject
/// let (mut values, mut grads) = ([0.0; 2], [0.0; 4]);
/// cohort.values_and_grads(&thetas, &mut values, &mut grads)?;
/// let scalar = model.likelihood(&subjects[1])?.value(ndarray::arr1(&thetas[2..]).view())?;
/// assert!((values[1] - scalar).abs() <= 1e-13 * scalar.abs());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct RwSoftmaxCohort<'a> {
    model: &'a Model<RescorlaWagner, Softmax>,
    subjects: &'a [Subject],
    q0: f64,
    groups: Vec<GroupData>,
    level: SimdLevel,
}

/// One lane group's trials, laid out for the kernel.
struct GroupData {
    /// `n_trials` records of [`RECORD`] numbers.
    records: Vec<f64>,
    /// With more than one state, `n_trials × LANES` row offsets s·A; else empty.
    rows: Vec<u32>,
    n_trials: usize,
}

impl<'a> RwSoftmaxCohort<'a> {
    /// Whether `model` is in the configuration this cohort covers (see the type's docs).
    pub fn supports(model: &Model<RescorlaWagner, Softmax>) -> bool {
        let n_actions = model.shape().n_actions;
        model.rule().single_rate_fixed_q0().is_some()
            && model.observation().is_plain()
            && (2..=MAX_COHORT_ACTIONS).contains(&n_actions)
    }

    /// The cohort of `subjects` under `model`, its data laid out for the kernel, at the
    /// widest [`SimdLevel`] this CPU has.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a model outside the covered configuration
    /// ([`RwSoftmaxCohort::supports`]) or a subject too long for one buffer
    /// ([`MAX_FLOATS`](crate::check::MAX_FLOATS)); [`Error::EmptyData`] for no subjects;
    /// [`Error::InvalidTrial`] for a subject the model cannot explain (as
    /// [`Model::likelihood`]).
    pub fn new(model: &'a Model<RescorlaWagner, Softmax>, subjects: &'a [Subject]) -> Result<Self> {
        let q0 = match model.rule().single_rate_fixed_q0() {
            Some(q0) if Self::supports(model) => q0,
            _ => {
                return Err(Error::invalid_option(
                    "model",
                    "RescorlaWagner + Softmax",
                    format!(
                        "the cohort kernel covers one learning rate with a fixed q0, the plain \
                         softmax (one beta, no perseveration) and 2 to {MAX_COHORT_ACTIONS} \
                         actions; use FitModel::cohort, which falls back to one term per subject"
                    ),
                ));
            }
        };
        if subjects.is_empty() {
            return Err(Error::empty_data("a cohort needs at least one subject"));
        }
        let shape = model.shape();
        for s in subjects {
            s.check_shape(shape.n_states, shape.n_actions)?;
        }
        let groups = subjects
            .chunks(LANES)
            .map(|chunk| GroupData::new(chunk, shape.n_states, shape.n_actions))
            .collect::<Result<Vec<_>>>()?;
        Ok(RwSoftmaxCohort {
            model,
            subjects,
            q0,
            groups,
            level: SimdLevel::detected(),
        })
    }

    /// The same cohort evaluated by the kernel's copy for `level` (to compare the copies, or
    /// to measure one).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if this CPU does not run `level`.
    pub fn with_level(mut self, level: SimdLevel) -> Result<Self> {
        if !level.is_supported() {
            return Err(Error::invalid_option(
                "level",
                format!("{level:?}"),
                "is not supported by this CPU",
            ));
        }
        self.level = level;
        Ok(self)
    }

    /// The instruction set the kernel runs with.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// Every subject's ℓ (and gradient when `grads` is given), checked.
    #[allow(clippy::needless_range_loop)] // lanes index several arrays at once
    fn evaluate(
        &self,
        thetas: &[f64],
        values: &mut [f64],
        mut grads: Option<&mut [f64]>,
    ) -> Result<()> {
        let n = self.subjects.len();
        let k = 2;
        check_args(n, k, thetas, values, grads.as_deref())?;
        let shape = self.model.shape();
        // The value table of one group (more than one state): on the stack when small.
        let entries = shape.n_states * shape.n_actions;
        let mut stack = [0.0; 2 * STACK_ENTRIES * LANES];
        let mut heap = Vec::new();
        let table: &mut [f64] = if shape.n_states == 1 {
            &mut []
        } else if entries <= STACK_ENTRIES {
            &mut stack[..2 * entries * LANES]
        } else {
            let len = check::floats(
                &[2, entries, LANES],
                "n_states",
                shape.n_states,
                "the cohort kernel's value table",
            )?;
            heap = check::filled(len, 0.0, "the cohort kernel's value table")?;
            &mut heap
        };
        for (g, data) in self.groups.iter().enumerate() {
            let first = g * LANES;
            let in_group = (n - first).min(LANES);
            // ψ and g′ per lane; empty lanes get harmless values (their data are all padding).
            let mut alpha = [0.5; LANES];
            let mut beta = [1.0; LANES];
            let mut d1 = [[0.0; 2]; LANES];
            for l in 0..in_group {
                let i = first + l;
                let theta = ArrayView1::from(&thetas[i * k..(i + 1) * k]);
                let mut nat = [0.0; 6];
                self.model.natural_checked_into(theta, &mut nat)?;
                alpha[l] = nat[0];
                beta[l] = nat[1];
                d1[l] = [nat[2], nat[3]];
            }
            let job = Job {
                records: &data.records,
                rows: &data.rows,
                n_trials: data.n_trials,
                n_states: shape.n_states,
                n_actions: shape.n_actions,
                q0: self.q0,
                alpha,
                beta,
                grad: grads.is_some(),
            };
            let out = self.level.run(&job, table);
            for l in 0..in_group {
                let i = first + l;
                let ll = out.ll[l];
                let g = [out.ga[l] * d1[l][0], out.gb[l] * d1[l][1]];
                let theta = ArrayView1::from(&thetas[i * k..(i + 1) * k]);
                let gs: &[f64] = if grads.is_some() { &g } else { &[] };
                check::finite_log_likelihood(self.subjects[i].id(), ll, gs, &[], theta)?;
                values[i] = ll;
                if let Some(grads) = grads.as_deref_mut() {
                    grads[i * k..(i + 1) * k].copy_from_slice(&g);
                }
            }
        }
        drop(heap);
        Ok(())
    }
}

impl GroupData {
    /// Lays out up to [`LANES`] subjects (see the module docs).
    fn new(subjects: &[Subject], n_states: usize, n_actions: usize) -> Result<Self> {
        let n_trials = subjects.iter().map(Subject::n_trials).max().unwrap_or(0);
        let what = "a lane group of the cohort kernel (its longest subject's trials x 24)";
        let len = check::floats(&[n_trials, RECORD], "n_trials", n_trials, what)?;
        let mut records = check::filled(len, 0.0, what)?;
        // Padding: no choice, carried values.
        for rec in records.chunks_exact_mut(RECORD) {
            rec[..LANES].fill(-1.0);
            rec[2 * LANES..].fill(1.0);
        }
        let mut rows = if n_states > 1 {
            let len = check::floats(&[n_trials, LANES], "n_trials", n_trials, what)?;
            check::filled(len, 0u32, what)?
        } else {
            Vec::new()
        };
        for (l, subject) in subjects.iter().enumerate() {
            let mut t = 0;
            for session in subject.sessions() {
                let actions = session.actions();
                for (j, ((&a, &r), &s)) in actions
                    .iter()
                    .zip(session.rewards())
                    .zip(session.states())
                    .enumerate()
                {
                    let rec = &mut records[t * RECORD..(t + 1) * RECORD];
                    rec[l] = if a == MISSED { -1.0 } else { f64::from(a) };
                    rec[LANES + l] = r;
                    rec[2 * LANES + l] = if j == 0 { 0.0 } else { 1.0 };
                    if n_states > 1 {
                        // s < n_states and s · A ≤ MAX_FLOATS (checked by Model::new): fits.
                        rows[t * LANES + l] = s * n_actions as u32;
                    }
                    t += 1;
                }
            }
        }
        Ok(GroupData {
            records,
            rows,
            n_trials,
        })
    }
}

impl Cohort for RwSoftmaxCohort<'_> {
    fn n_subjects(&self) -> usize {
        self.subjects.len()
    }

    fn n_params(&self) -> usize {
        2
    }

    fn values_and_grads(
        &self,
        thetas: &[f64],
        values: &mut [f64],
        grads: &mut [f64],
    ) -> Result<()> {
        self.evaluate(thetas, values, Some(grads))
    }

    fn values(&self, thetas: &[f64], values: &mut [f64]) -> Result<()> {
        self.evaluate(thetas, values, None)
    }
}
