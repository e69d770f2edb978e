//! The experience-replay buffer: the last M transitions (fixed capacity, oldest out), stored
//! flat.

use ndarray::{ArrayView1, ArrayViewMut1};

use super::features::FeatureMap;
use super::network::ShallowCritic;
use super::td::Transition;
use super::workspace::CriticWorkspace;
use crate::check;
use crate::error::{Error, Result};
use crate::slices::copy_into;

/// A ring buffer of the last M transitions (z, r, z₊ or terminal), stored flat: pushing
/// into a full buffer overwrites the oldest transition. All storage is allocated by
/// [`ReplayBuffer::new`]; pushing never allocates.
///
/// Transitions are indexed by age: 0 is the oldest one still stored. A buffer whose
/// capacity is the batch size is also the batch type of [`TdLoss`](super::TdLoss).
///
/// Two buffers are equal (`==`) when they have the same capacity and z length and hold the
/// same transitions in the same order; where those sit in the ring, what the free slots
/// still hold, and [`ReplayBuffer::total_pushed`] do not matter.
///
/// ```
/// use ndarray::arr1;
/// use rlgrad::critic::{ReplayBuffer, Transition};
/// let mut buffer = ReplayBuffer::new(2, 1)?;
/// for k in 0..3 {
///     let (z, zn) = (arr1(&[k as f64]), arr1(&[k as f64 + 1.0]));
///     buffer.push(Transition::new(z.view(), k as f64, zn.view()))?;
/// }
/// assert_eq!(buffer.len(), 2);
/// let oldest = buffer.get(0).unwrap();
/// assert_eq!((oldest.z[0], oldest.reward), (1.0, 1.0)); // transition 0 is gone
/// assert_eq!(buffer.step_size_bound(), 4.0); // 8 / M
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    input_dim: usize,
    z: Vec<f64>,
    z_next: Vec<f64>,
    reward: Vec<f64>,
    continues: Vec<bool>,
    len: usize,
    /// The slot the next push writes.
    head: usize,
    pushed: u64,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` = M transitions with z ∈ ℝ^input_dim.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a capacity of 0, or sizes above
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS) (M or M · d floats), or storage that cannot be
    /// allocated (it is allocated here, fallibly: a failed allocation is an error, not an
    /// abort).
    pub fn new(capacity: usize, input_dim: usize) -> Result<Self> {
        check::at_least_one("capacity", capacity)?;
        check::floats(
            &[capacity],
            "capacity",
            capacity,
            "the replay buffer's rewards",
        )?;
        let floats = check::floats(
            &[capacity, input_dim],
            "capacity",
            capacity,
            "the replay buffer's z (capacity x input_dim)",
        )?;
        let z = check::filled(floats, 0.0, "capacity")?;
        let z_next = check::filled(floats, 0.0, "capacity")?;
        let reward = check::filled(capacity, 0.0, "capacity")?;
        let continues = check::filled(capacity, false, "capacity")?;
        Ok(ReplayBuffer {
            capacity,
            input_dim,
            z,
            z_next,
            reward,
            continues,
            len: 0,
            head: 0,
            pushed: 0,
        })
    }

    /// M, the most transitions it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The length of z.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// How many transitions it holds now (≤ M).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no transition.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it holds M transitions (the next push drops the oldest).
    pub fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// How many transitions were ever pushed (accepted).
    pub fn total_pushed(&self) -> u64 {
        self.pushed
    }

    /// Forgets every transition (keeps the storage).
    pub fn clear(&mut self) {
        self.len = 0;
        self.head = 0;
    }

    /// Stores a transition, dropping the oldest one if the buffer is full.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if z or z₊ does not have [`ReplayBuffer::input_dim`]
    /// entries; [`Error::NonFiniteInput`] naming the entry for a non-finite z, z₊ or
    /// reward. A rejected transition leaves the buffer unchanged.
    pub fn push(&mut self, transition: Transition<'_>) -> Result<()> {
        let k = self.pushed;
        let check = |v: ArrayView1<f64>, what: &str| -> Result<()> {
            if v.len() != self.input_dim {
                // Built only on failure: a valid push allocates nothing.
                let what = format!("{what} of pushed transition {k}");
                return check::len(&what, self.input_dim, v.len());
            }
            check::finite_inputs_with(v, |i| format!("{what}[{i}] of pushed transition {k}"))
        };
        check(transition.z, "z")?;
        if let Some(next) = transition.next {
            check(next, "next z")?;
        }
        check::finite_input_with(transition.reward, || {
            format!("reward of pushed transition {k}")
        })?;
        let (s, d) = (self.head, self.input_dim);
        for (o, v) in self.z[s * d..(s + 1) * d].iter_mut().zip(transition.z) {
            *o = *v;
        }
        let next = &mut self.z_next[s * d..(s + 1) * d];
        match transition.next {
            Some(zn) => next.iter_mut().zip(zn).for_each(|(o, v)| *o = *v),
            None => next.fill(0.0),
        }
        self.reward[s] = transition.reward;
        self.continues[s] = transition.next.is_some();
        self.head = (s + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        self.pushed += 1;
        Ok(())
    }

    /// The transition of age `j` (0 = oldest), or `None` if `j` ≥ [`ReplayBuffer::len`].
    pub fn get(&self, j: usize) -> Option<Transition<'_>> {
        (j < self.len).then(|| {
            let (z, reward, next) = self.raw(j);
            Transition {
                z: ArrayView1::from(z),
                reward,
                next: next.map(ArrayView1::from),
            }
        })
    }

    /// The stored transitions, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Transition<'_>> + '_ {
        (0..self.len).filter_map(|j| self.get(j))
    }

    /// 8 / M with M = [`ReplayBuffer::capacity`]: the step size below which the normalised update
    /// of a linear critic contracts when the stored data vectors are exciting (see
    /// [`NormalizedUpdate`](super::NormalizedUpdate)). It uses the capacity, not the number stored,
    /// so an η chosen while the buffer fills stays valid once it is full: with len ≤ M transitions,
    /// A ⪯ (len/4) I ⪯ (M/4) I. It is finite and positive for every buffer.
    ///
    /// ```
    /// use ndarray::arr1;
    /// use rlgrad::critic::{ReplayBuffer, Transition};
    /// let mut buffer = ReplayBuffer::new(32, 1)?;
    /// assert_eq!(buffer.step_size_bound(), 0.25); // empty: already 8 / 32
    /// buffer.push(Transition::terminal(arr1(&[0.0]).view(), 1.0))?;
    /// assert_eq!(buffer.step_size_bound(), 0.25); // not 8 / 1
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn step_size_bound(&self) -> f64 {
        8.0 / self.capacity as f64
    }

    /// The TD errors eⱼ of every stored transition, oldest first, written into `out`
    /// (length [`ReplayBuffer::len`]); returns ½ Σⱼ eⱼ², which is +∞ if the sum overflows
    /// although every eⱼ is finite (|eⱼ| above about 1.3e154), as
    /// [`NormalizedUpdate::apply`](super::NormalizedUpdate::apply) reports it.
    ///
    /// # Errors
    /// As [`ShallowCritic::td_error`], plus `out` of the wrong length;
    /// [`Error::NonFiniteResult`] naming the first transition whose eⱼ is not finite. On
    /// `Err` the contents of `out` are unspecified.
    pub fn td_errors<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        omega: ArrayView1<f64>,
        gamma: f64,
        mut out: ArrayViewMut1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        self.check_call(critic, omega, gamma, ws)?;
        check::len("td error buffer", self.len, out.len())?;
        copy_into(&mut ws.omega, &omega);
        let CriticWorkspace {
            omega: w,
            cur,
            next,
            ..
        } = ws;
        let mut loss = 0.0;
        for (j, o) in out.iter_mut().enumerate() {
            let (z, r, zn) = self.raw(j);
            let (e, _) = critic.td_forward::<0>(w, z, r, zn, gamma, cur, next);
            *o = e;
            loss += 0.5 * e * e;
        }
        match out.iter().position(|e| !e.is_finite()) {
            // Every eⱼ finite: the sum is finite or +∞, never NaN.
            None => Ok(loss),
            Some(j) => Err(td_error_of(j, omega)),
        }
    }

    /// (z, r, z₊) of the transition of age `j` < len, as slices.
    #[inline]
    pub(crate) fn raw(&self, j: usize) -> (&[f64], f64, Option<&[f64]>) {
        let start = if self.len == self.capacity {
            self.head
        } else {
            0
        };
        let mut s = start + j;
        if s >= self.capacity {
            s -= self.capacity;
        }
        let d = self.input_dim;
        let z = &self.z[s * d..(s + 1) * d];
        let next = self.continues[s].then(|| &self.z_next[s * d..(s + 1) * d]);
        (z, self.reward[s], next)
    }

    pub(super) fn check_call<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        omega: ArrayView1<f64>,
        gamma: f64,
        ws: &CriticWorkspace,
    ) -> Result<()> {
        critic.check_workspace(ws)?;
        check::len(
            "transition length of the replay buffer",
            critic.input_dim(),
            self.input_dim,
        )?;
        check::discount(gamma)?;
        critic.check_weights(omega)
    }
}

impl PartialEq for ReplayBuffer {
    /// Capacity, z length and the stored transitions, oldest first (not the ring's layout).
    fn eq(&self, other: &Self) -> bool {
        self.capacity == other.capacity
            && self.input_dim == other.input_dim
            && self.len == other.len
            && (0..self.len).all(|j| self.raw(j) == other.raw(j))
    }
}

/// The error for a non-finite TD error of the stored transition of age `j`.
#[cold]
pub(super) fn td_error_of(j: usize, omega: ArrayView1<f64>) -> Error {
    Error::non_finite_result(format!("td error of stored transition {j}"), omega.to_vec())
}
