//! The cohort kernel for Rescorla–Wagner + softmax: the loop over a lane group's trials, its
//! three compiled copies and the choice among them. [`RwSoftmaxCohort`](super::RwSoftmaxCohort)
//! lays out the data and applies the transforms around it (its module docs describe both).
//!
//! This file depends on nothing of the crate but [`crate::numeric`]'s lanes and on
//! `multiversion`, so that `.ci/check-simd` can compile it alone, at full optimisation, in a
//! few seconds, and check in the disassembly that the AVX2 and AVX-512 copies are vectorised.
//!
//! # The loop
//!
//! Every quantity of the scalar path ([`Likelihood`](crate::Likelihood)) is held as W lanes
//! ([`Lanes`]): Q and ∂Q/∂α of the current row, Σ shift, the product of normalisers (folded
//! into a logarithm once it passes 2⁶⁰⁰, checked every 64 trials), ∂ℓ/∂α and ∂ℓ/∂β. The
//! chosen action enters as 0/1 weights wⱼ = 1[a = j], never a branch: the update
//! Q ← (1 − α wⱼ) Q + α wⱼ r, D ← (1 − α wⱼ) D + wⱼ δ is the scalar update for the chosen
//! action and leaves the others' bits unchanged; a missed or padding trial has all weights 0,
//! so it adds nothing and changes nothing. With one state the row lives in registers and a
//! new session resets it by multiplying with the carry; with more, it is read from and written
//! back to a per-lane table. Two actions use the logit difference (one exponential, as
//! [`log_logistic_parts`](crate::numeric::log_logistic_parts)); more use the softmax shifted
//! by its maximum with the normaliser's rounding recovered, as
//! [`SoftmaxNorm`](crate::numeric::SoftmaxNorm). The exponential is the table-free
//! [`exp_nonpositive_lanes`].
//!
//! # The copies
//!
//! Three copies, by `multiversion` (no `unsafe` in this crate): AVX-512 with W = 8, AVX2 +
//! FMA with W = 4 (a lane group in two slices: eight lanes of every quantity would not fit
//! AVX2's sixteen registers), and the build target's baseline with W = 2 (SSE2). Fused
//! multiply-adds are chosen inside each copy from the features it is compiled with
//! (`target_cfg_f!`), not by `cfg!`: the AVX2 and AVX-512 copies use them, and the baseline
//! does not call libm for them. [`SimdLevel::detected`] picks the widest copy the CPU runs.

use multiversion::multiversion;
use multiversion::target::target_cfg_f;

use crate::numeric::{Lanes, exp_nonpositive_lanes};

/// The largest number of actions the kernel holds in its lane registers (the scalar path's
/// stack limit).
pub const MAX_COHORT_ACTIONS: usize = 8;

/// Subjects per lane group.
pub const LANES: usize = 8;

/// Numbers per trial of a lane group: action, reward and carry, eight lanes each.
pub const RECORD: usize = 3 * LANES;

/// Trials between two checks of the product of normalisers: each normaliser is at most
/// [`MAX_COHORT_ACTIONS`] = 2³, so 64 trials multiply it by at most 2¹⁹², and a product
/// folded at 2⁶⁰⁰ never overflows.
const FOLD_EVERY: usize = 64;

/// 2⁶⁰⁰, where the product of normalisers is folded into a logarithm (as the scalar path).
const BIG: f64 = 4.149515568880993e180;

/// An instruction set the cohort kernel is compiled for.
///
/// ```
/// use rlgrad::cohort::SimdLevel;
/// let best = SimdLevel::detected();
/// assert!(best.is_supported());
/// assert!(SimdLevel::Baseline.is_supported());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdLevel {
    /// The build target's own instructions (SSE2 on x86-64), no fused multiply-add.
    Baseline,
    /// AVX2 with FMA: two 256-bit registers per lane group.
    Avx2,
    /// AVX-512 with FMA: one 512-bit register per lane group. It needs the AVX-512
    /// extensions of Ice Lake and Zen 4 (F, VL, DQ, BW, CD, IFMA, VBMI, VBMI2, VNNI,
    /// VPOPCNTDQ, BITALG, with GFNI, VAES, VPCLMULQDQ): `multiversion` requires them of an
    /// AVX-512 copy, to keep it off the earlier CPUs whose clock drops under AVX-512, which
    /// run the AVX2 copy.
    Avx512,
}

impl SimdLevel {
    /// Every level, widest last.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Baseline, SimdLevel::Avx2, SimdLevel::Avx512];

    /// Whether this CPU runs this level (detected at run time; the standard library caches
    /// the detection).
    pub fn is_supported(self) -> bool {
        match self {
            SimdLevel::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                use std::arch::is_x86_feature_detected as has;
                SimdLevel::Avx2.is_supported()
                    && has!("avx512f")
                    && has!("avx512vl")
                    && has!("avx512dq")
                    && has!("avx512bw")
                    && has!("avx512cd")
                    && has!("avx512ifma")
                    && has!("avx512vbmi")
                    && has!("avx512vbmi2")
                    && has!("avx512vnni")
                    && has!("avx512vpopcntdq")
                    && has!("avx512bitalg")
                    && has!("gfni")
                    && has!("vaes")
                    && has!("vpclmulqdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest level this CPU runs.
    pub fn detected() -> SimdLevel {
        SimdLevel::ALL
            .into_iter()
            .rev()
            .find(|l| l.is_supported())
            .unwrap_or(SimdLevel::Baseline)
    }

    /// One lane group through this level's copy of the kernel.
    pub(crate) fn run(self, job: &Job<'_>, table: &mut [f64]) -> GroupOut {
        match self {
            SimdLevel::Baseline => group_baseline(job, table),
            SimdLevel::Avx2 => group_avx2(job, table),
            SimdLevel::Avx512 => group_avx512(job, table),
        }
    }
}

/// What one lane group's kernel needs: its records (see the [module docs](super::rw_softmax)),
/// the row offsets with more than one state, ψ per lane, and whether to take the gradient.
pub struct Job<'d> {
    /// `n_trials` records of [`RECORD`] numbers: action, reward, carry, [`LANES`] each.
    pub records: &'d [f64],
    /// With more than one state, `n_trials × LANES` row offsets s·A; else empty.
    pub rows: &'d [u32],
    /// Trials of the group (its longest subject's).
    pub n_trials: usize,
    /// States S of the model.
    pub n_states: usize,
    /// Actions A of the model, 2 to [`MAX_COHORT_ACTIONS`].
    pub n_actions: usize,
    /// The initial value of every Q.
    pub q0: f64,
    /// α per lane.
    pub alpha: [f64; LANES],
    /// β per lane.
    pub beta: [f64; LANES],
    /// Whether to take the gradient.
    pub grad: bool,
}

/// One lane group's ℓ, ∂ℓ/∂α and ∂ℓ/∂β (with respect to the natural parameters).
pub struct GroupOut {
    /// ℓ per lane.
    pub ll: [f64; LANES],
    /// ∂ℓ/∂α per lane (0 without the gradient).
    pub ga: [f64; LANES],
    /// ∂ℓ/∂β per lane (0 without the gradient).
    pub gb: [f64; LANES],
}

// The three copies of the kernel. Each multiversioned function has one target (its dispatcher
// falls back to the default copy on a CPU without it, which `SimdLevel::run` never asks for).
// The lane width W is the register's: 8 for AVX-512, 4 for AVX2, 2 for SSE2 (a lane group is
// then run as 8/W slices, each with its state in registers: eight lanes of every quantity in
// AVX2's sixteen registers would spill).

/// The kernel compiled for AVX-512 with FMA (the features are those `multiversion` requires
/// of an AVX-512 target: Ice Lake's, see [`SimdLevel::Avx512`]).
#[multiversion(targets(
    "x86_64+avx+avx2+fma+avx512f+avx512vl+avx512dq+avx512bw+avx512cd+avx512ifma+avx512vbmi+avx512vbmi2+avx512vnni+avx512vpopcntdq+avx512bitalg+gfni+vaes+vpclmulqdq"
))]
pub fn group_avx512(job: &Job<'_>, table: &mut [f64]) -> GroupOut {
    // `multiversion` also compiles a copy without the features, for a CPU without them
    // (never called: `SimdLevel::run` asks for this level only where it runs): it is the
    // baseline's, not a second instance of the loop.
    if target_cfg_f!(all(target_feature = "avx512f", target_feature = "fma")) {
        group::<true, 8>(job, table)
    } else {
        group_baseline(job, table)
    }
}

/// The kernel compiled for AVX2 with FMA.
#[multiversion(targets("x86_64+avx+avx2+fma"))]
pub fn group_avx2(job: &Job<'_>, table: &mut [f64]) -> GroupOut {
    // As in `group_avx512`.
    if target_cfg_f!(all(target_feature = "avx2", target_feature = "fma")) {
        group::<true, 4>(job, table)
    } else {
        group_baseline(job, table)
    }
}

/// The kernel for the build target's baseline.
pub fn group_baseline(job: &Job<'_>, table: &mut [f64]) -> GroupOut {
    group::<{ cfg!(target_feature = "fma") }, 2>(job, table)
}

/// One lane group, W lanes at a time: the copy of the loop for the table, the number of
/// actions and the order.
#[inline(always)]
fn group<const FMA: bool, const W: usize>(job: &Job<'_>, table: &mut [f64]) -> GroupOut {
    let mut out = GroupOut {
        ll: [0.0; LANES],
        ga: [0.0; LANES],
        gb: [0.0; LANES],
    };
    for first in (0..LANES).step_by(W) {
        let slice = if job.n_states == 1 {
            by_actions::<FMA, W, OneState>(job, OneState, first)
        } else {
            let entries = job.n_states * job.n_actions * LANES;
            let (q, d) = table.split_at_mut(entries);
            let t = Indexed {
                q,
                d,
                rows: job.rows,
                q0: job.q0,
                first,
            };
            by_actions::<FMA, W, Indexed<'_>>(job, t, first)
        };
        out.ll[first..first + W].copy_from_slice(&slice.ll.0);
        out.ga[first..first + W].copy_from_slice(&slice.ga.0);
        out.gb[first..first + W].copy_from_slice(&slice.gb.0);
    }
    out
}

/// ℓ, ∂ℓ/∂α and ∂ℓ/∂β of W lanes.
struct SliceOut<const W: usize> {
    ll: Lanes<W>,
    ga: Lanes<W>,
    gb: Lanes<W>,
}

#[inline(always)]
fn by_actions<const FMA: bool, const W: usize, T: Table<W>>(
    job: &Job<'_>,
    t: T,
    first: usize,
) -> SliceOut<W> {
    match (job.n_actions, job.grad) {
        (2, true) => trials::<FMA, true, 2, W, T>(job, t, first),
        (2, false) => trials::<FMA, false, 2, W, T>(job, t, first),
        (_, true) => trials::<FMA, true, 0, W, T>(job, t, first),
        (_, false) => trials::<FMA, false, 0, W, T>(job, t, first),
    }
}

/// The current state's row of Q and D, for W lanes.
type Row<const W: usize> = [Lanes<W>; MAX_COHORT_ACTIONS];

/// A trial of W lanes: its index in the group, the carry (0 where a session starts), q₀, and
/// the number of actions.
#[derive(Clone, Copy)]
struct At<const W: usize> {
    t: usize,
    carry: Lanes<W>,
    q0: Lanes<W>,
    na: usize,
}

/// Where the current state's row of Q and D comes from.
trait Table<const W: usize> {
    /// Before trial `at.t`: starts the sessions of lanes whose carry is 0, then loads the row
    /// of each lane's state into `q` and `d` (the first `at.na` entries).
    fn begin<const FMA: bool, const GRAD: bool>(
        &mut self,
        at: &At<W>,
        q: &mut Row<W>,
        d: &mut Row<W>,
    );
    /// After trial `t`: stores the updated row.
    fn end<const GRAD: bool>(&mut self, t: usize, na: usize, q: &Row<W>, d: &Row<W>);
}

/// One state: the row is the whole table, kept in registers across trials; a new session
/// resets it by the carry (Q ← carry·Q + (1 − carry)·q₀, D ← carry·D: exact for carry 0 or 1).
struct OneState;

impl<const W: usize> Table<W> for OneState {
    #[inline(always)]
    fn begin<const FMA: bool, const GRAD: bool>(
        &mut self,
        at: &At<W>,
        q: &mut Row<W>,
        d: &mut Row<W>,
    ) {
        let At { carry, q0, na, .. } = *at;
        let fresh = q0 * (Lanes::splat(1.0) - carry);
        for j in 0..na {
            q[j] = q[j].mul_add::<FMA>(carry, fresh);
            if GRAD {
                d[j] *= carry;
            }
        }
    }

    #[inline(always)]
    fn end<const GRAD: bool>(&mut self, _t: usize, _na: usize, _q: &Row<W>, _d: &Row<W>) {}
}

/// Several states: per-lane tables of Q and D (entry e of lane l at e·8 + l), read and
/// written at each lane's row; this slice's lanes start at `first`.
struct Indexed<'t> {
    q: &'t mut [f64],
    d: &'t mut [f64],
    rows: &'t [u32],
    q0: f64,
    first: usize,
}

// Lanes and actions are indexed: the same index runs over several arrays.
#[allow(clippy::needless_range_loop)]
impl<const W: usize> Table<W> for Indexed<'_> {
    #[inline(always)]
    fn begin<const FMA: bool, const GRAD: bool>(
        &mut self,
        at: &At<W>,
        q: &mut Row<W>,
        d: &mut Row<W>,
    ) {
        let At { t, carry, na, .. } = *at;
        // A session starts in some lane once every few hundred trials: a branch is cheaper
        // than resetting every entry of every lane by the carry on every trial.
        if carry.0.contains(&0.0) {
            for l in 0..W {
                if carry.0[l] == 0.0 {
                    for e in (self.first + l..self.q.len()).step_by(LANES) {
                        self.q[e] = self.q0;
                        self.d[e] = 0.0;
                    }
                }
            }
        }
        let rows = &self.rows[t * LANES + self.first..t * LANES + self.first + W];
        for l in 0..W {
            let base = rows[l] as usize * LANES + self.first + l;
            for j in 0..na {
                q[j].0[l] = self.q[base + j * LANES];
                if GRAD {
                    d[j].0[l] = self.d[base + j * LANES];
                }
            }
        }
    }

    #[inline(always)]
    fn end<const GRAD: bool>(&mut self, t: usize, na: usize, q: &Row<W>, d: &Row<W>) {
        let rows = &self.rows[t * LANES + self.first..t * LANES + self.first + W];
        for l in 0..W {
            let base = rows[l] as usize * LANES + self.first + l;
            for j in 0..na {
                self.q[base + j * LANES] = q[j].0[l];
                if GRAD {
                    self.d[base + j * LANES] = d[j].0[l];
                }
            }
        }
    }
}

/// The loop over one lane group's trials for its lanes `first..first + W` (`NA` actions, 0
/// for "read at run time"), with the gradient when `GRAD`. The value is computed by the same
/// operations either way.
#[inline(always)]
fn trials<const FMA: bool, const GRAD: bool, const NA: usize, const W: usize, T: Table<W>>(
    job: &Job<'_>,
    mut table: T,
    first: usize,
) -> SliceOut<W> {
    let na = if NA > 0 { NA } else { job.n_actions };
    let zero = Lanes::splat(0.0);
    let one = Lanes::splat(1.0);
    let alpha = Lanes::<W>::load(&job.alpha[first..]);
    let beta = Lanes::<W>::load(&job.beta[first..]);
    let q0 = Lanes::splat(job.q0);
    let mut q = [q0; MAX_COHORT_ACTIONS];
    let mut d = [zero; MAX_COHORT_ACTIONS];
    let mut shift = zero;
    let mut prod = one;
    let mut logs = zero;
    let mut ga = zero;
    let mut gb = zero;
    let records = &job.records[..job.n_trials * RECORD];
    for (c, chunk) in records.chunks(FOLD_EVERY * RECORD).enumerate() {
        for (i, rec) in chunk.chunks_exact(RECORD).enumerate() {
            let t = c * FOLD_EVERY + i;
            let action = Lanes::<W>::load(&rec[first..]);
            let reward = Lanes::<W>::load(&rec[LANES + first..]);
            let carry = Lanes::<W>::load(&rec[2 * LANES + first..]);
            let at = At { t, carry, q0, na };
            table.begin::<FMA, GRAD>(&at, &mut q, &mut d);
            // 0/1 weights of the chosen action; all 0 for a missed or padding trial.
            let mut w = [zero; MAX_COHORT_ACTIONS];
            for (j, wj) in w.iter_mut().enumerate().take(na) {
                *wj = action.eq(Lanes::splat(j as f64));
            }
            let inputs = TrialIn {
                w: &w,
                q: &q,
                d: &d,
                beta,
            };
            let (s, norm) = if na == 2 {
                two_actions::<FMA, GRAD, W>(&inputs, &mut ga, &mut gb)
            } else {
                many_actions::<FMA, GRAD, W>(na, &inputs, &mut ga, &mut gb)
            };
            shift += s;
            prod *= norm;
            // The Rescorla–Wagner update of the chosen entry, (1 − α)·Q + α·r and
            // (1 − α)·D + δ as the scalar path computes them; the other entries get α·0 and
            // 0·δ, and keep their bits.
            for j in 0..na {
                let aw = alpha * w[j];
                let keep = one - aw;
                if GRAD {
                    let delta = reward - q[j];
                    d[j] = keep.mul_add::<FMA>(d[j], w[j] * delta);
                }
                q[j] = keep.mul_add::<FMA>(q[j], aw * reward);
            }
            table.end::<GRAD>(t, na, &q, &d);
        }
        // Lane by lane only when some lane needs it (a loop over lanes that writes them one
        // by one here would make the compiler keep the product in scalar registers).
        let over = prod.gt(Lanes::splat(BIG));
        if over.0.iter().any(|&o| o != 0.0) {
            logs += over.select(prod.map(f64::ln), zero);
            prod = over.select(one, prod);
        }
    }
    SliceOut {
        ll: shift - (logs + prod.map(f64::ln)),
        ga,
        gb,
    }
}

/// What one trial's log-probability reads: the 0/1 weights of the chosen action, the row of
/// Q and of D = ∂Q/∂α, and β.
#[derive(Clone, Copy)]
struct TrialIn<'r, const W: usize> {
    w: &'r Row<W>,
    q: &'r Row<W>,
    d: &'r Row<W>,
    beta: Lanes<W>,
}

/// One trial with two actions: ℓ = ln σ(x), x = β (Q_a − Q_b), as (shift, norm) with
/// ℓ = shift − ln norm; adds ∂ℓ/∂α and ∂ℓ/∂β when `GRAD` (the scalar path's formulas, in
/// [`Softmax`](crate::observation::Softmax)'s two-action kernel and its contraction).
#[inline(always)]
fn two_actions<const FMA: bool, const GRAD: bool, const W: usize>(
    t: &TrialIn<'_, W>,
    ga: &mut Lanes<W>,
    gb: &mut Lanes<W>,
) -> (Lanes<W>, Lanes<W>) {
    let TrialIn { w, q, d, beta } = *t;
    let (zero, one) = (Lanes::splat(0.0), Lanes::splat(1.0));
    // ±1 for action 0 or 1, 0 for none: Q_a − Q_b = sign·(Q₀ − Q₁) exactly.
    let sign = w[0] - w[1];
    let chosen = w[0] + w[1];
    let diff = sign * (q[0] - q[1]);
    let x = beta * diff;
    // x = 0 for no choice, and e = 0: no term, no gradient.
    let e = exp_nonpositive_lanes::<FMA, W>(-x.abs()) * chosen;
    let norm = one + e;
    let lost = e - (norm - one);
    let shift = -((-x).max(zero)) - lost;
    if GRAD {
        // π_b = σ(−x).
        let pb = x.ge(zero).select(e, one) * (one / norm);
        *gb = diff.mul_add::<FMA>(pb, *gb);
        let c = beta * pb;
        *ga = c.mul_add::<FMA>(sign * (d[0] - d[1]), *ga);
    }
    (shift, norm)
}

/// One trial with `na` ≥ 3 actions: the softmax shifted by the maximum logit, its normaliser
/// summed as 1 + the others with the rounding error recovered (as
/// [`SoftmaxNorm`](crate::numeric::SoftmaxNorm)); adds ∂ℓ/∂α and ∂ℓ/∂β when `GRAD`.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn many_actions<const FMA: bool, const GRAD: bool, const W: usize>(
    na: usize,
    t: &TrialIn<'_, W>,
    ga: &mut Lanes<W>,
    gb: &mut Lanes<W>,
) -> (Lanes<W>, Lanes<W>) {
    let TrialIn { w, q, d, beta } = *t;
    let (zero, one) = (Lanes::splat(0.0), Lanes::splat(1.0));
    let mut z = [zero; MAX_COHORT_ACTIONS];
    for j in 0..na {
        z[j] = beta * q[j];
    }
    // The maximum and the first action that attains it.
    let mut max = z[0];
    let mut top = zero;
    for j in 1..na {
        let above = z[j].gt(max);
        max = z[j].max(max);
        top = above.select(Lanes::splat(j as f64), top);
    }
    let mut weights = [zero; MAX_COHORT_ACTIONS];
    let mut rest = zero;
    let mut za = zero;
    let mut chosen = zero;
    for j in 0..na {
        // e^0 = 1 exactly at the maximum; the others are summed in order, as the scalar path.
        weights[j] = exp_nonpositive_lanes::<FMA, W>(z[j] - max);
        let other = one - top.eq(Lanes::splat(j as f64));
        rest = other.mul_add::<FMA>(weights[j], rest);
        za = w[j].mul_add::<FMA>(z[j], za);
        chosen += w[j];
    }
    // No choice: no term (norm 1, shift 0) and no gradient.
    let rest = rest * chosen;
    let sum = one + rest;
    let big = rest.max(one);
    let small = rest.min(one);
    let lost = small - (sum - big);
    let shift = (za - max) * chosen - lost;
    if GRAD {
        let inv = (one / sum) * chosen;
        let mut qbar = zero;
        let mut qa = zero;
        let mut pi = [zero; MAX_COHORT_ACTIONS];
        for j in 0..na {
            pi[j] = weights[j] * inv;
            qbar = pi[j].mul_add::<FMA>(q[j], qbar);
            qa = w[j].mul_add::<FMA>(q[j], qa);
        }
        *gb += qa - qbar;
        let mut acc = zero;
        for j in 0..na {
            acc = (beta * (w[j] - pi[j])).mul_add::<FMA>(d[j], acc);
        }
        *ga += acc;
    }
    (shift, sum)
}
