//! The orthogonalised go/no-go task of Guitart-Masip, Huys, Fuentemilla, Dayan, Duzel &
//! Dolan (2012): four cues cross the action (go, no-go) with the valence (win, avoid losing).

use rand::Rng;
use rand::seq::SliceRandom;

use super::{Environment, Outcome};
use crate::check;
use crate::error::Result;

/// Number of cues.
const N_CUES: usize = 4;

/// The go/no-go task (Guitart-Masip, Huys, Fuentemilla, Dayan, Duzel & Dolan 2012,
/// NeuroImage 62:154).
///
/// Four cue states: 0 go to win, 1 go to avoid losing, 2 no-go to win, 3 no-go to avoid
/// losing (the constants [`GoNoGoTask::GO_TO_WIN`] and so on). Two actions: 0 no-go, 1 go
/// ([`GoNoGoTask::NO_GO`], [`GoNoGoTask::GO`]). The correct action (go for cues 0 and 1,
/// no-go for cues 2 and 3) brings the good outcome with probability 0.8
/// ([`GoNoGoTask::with_correct_probability`]), the incorrect one with probability 0.2 (one
/// minus it). For the win cues the good outcome is +1 and the bad one 0; for the avoid cues
/// the good outcome is 0 and the bad one −1.
///
/// Each trial is one episode: [`Environment::reset`] shows a cue, and
/// [`Environment::step`] draws the outcome (one uniform draw) and ends the episode
/// (`next_state: None`); a step without a reset plays the same cue again. The cue is drawn
/// uniformly (one draw) or, with [`GoNoGoTask::with_blocks`], taken in turn from shuffled
/// blocks that hold each cue once (a shuffle when a block starts, no draw otherwise), so
/// that every four trials from the first show each cue once. [`GoNoGoTask::reset_to`] shows a
/// given cue (to replay an experiment's sequence).
///
/// The type is `Copy` (no heap memory), so cloning, `clone_from` included, never allocates.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, GoNoGoTask};
/// let mut env = GoNoGoTask::new().with_correct_probability(1.0)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
/// assert_eq!((env.n_states(), env.n_actions()), (4, 2));
/// // Always right: +1 on the win cues, 0 (no loss) on the avoid cues.
/// for _ in 0..8 {
///     let cue = env.reset(&mut rng);
///     let out = env.step(env.correct_action(cue)?, &mut rng)?;
///     let good = if env.is_win_cue(cue)? { 1.0 } else { 0.0 };
///     assert_eq!((out.reward, out.next_state), (good, None));
/// }
/// env.reset_to(GoNoGoTask::NO_GO_TO_AVOID_LOSING)?;
/// assert_eq!(env.step(GoNoGoTask::GO, &mut rng)?.reward, -1.0); // the wrong action loses
/// assert!(env.step(2, &mut rng).is_err()); // no action 2
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoNoGoTask {
    correct_probability: f64,
    blocks: bool,
    /// The current block of cues (with blocks).
    order: [usize; N_CUES],
    /// How many cues of the block have been shown; a new block is shuffled at `N_CUES`.
    shown: usize,
    cue: usize,
}

impl Default for GoNoGoTask {
    fn default() -> Self {
        Self::new()
    }
}

impl GoNoGoTask {
    /// Cue 0: go to win.
    pub const GO_TO_WIN: usize = 0;
    /// Cue 1: go to avoid losing.
    pub const GO_TO_AVOID_LOSING: usize = 1;
    /// Cue 2: no-go to win.
    pub const NO_GO_TO_WIN: usize = 2;
    /// Cue 3: no-go to avoid losing.
    pub const NO_GO_TO_AVOID_LOSING: usize = 3;
    /// Action 0: withhold the response.
    pub const NO_GO: usize = 0;
    /// Action 1: respond.
    pub const GO: usize = 1;

    /// The task of the paper: the correct action brings the good outcome with probability
    /// 0.8, and cues are drawn uniformly. Until the first [`Environment::reset`] the cue is 0.
    pub fn new() -> Self {
        GoNoGoTask {
            correct_probability: 0.8,
            blocks: false,
            order: [0, 1, 2, 3],
            shown: N_CUES,
            cue: 0,
        }
    }

    /// The correct action brings the good outcome with probability `p` (and the incorrect
    /// one with 1 − p).
    ///
    /// # Errors
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) naming `correct_probability`
    /// if `p` is not in \[0, 1\].
    pub fn with_correct_probability(mut self, p: f64) -> Result<Self> {
        check::unit_interval("correct_probability", p)?;
        self.correct_probability = p;
        Ok(self)
    }

    /// Takes the cues from shuffled blocks of the four cues instead of drawing each
    /// uniformly; the first block starts at the next [`Environment::reset`].
    pub fn with_blocks(mut self) -> Self {
        self.blocks = true;
        self.shown = N_CUES;
        self
    }

    /// The probability that the correct action brings the good outcome.
    pub fn correct_probability(&self) -> f64 {
        self.correct_probability
    }

    /// Whether cues come from shuffled blocks ([`GoNoGoTask::with_blocks`]).
    pub fn uses_blocks(&self) -> bool {
        self.blocks
    }

    /// The current cue.
    pub fn cue(&self) -> usize {
        self.cue
    }

    /// Shows `cue` (this trial only; the blocks, if any, are not advanced) and returns it.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) naming `cue` if it is not
    /// below 4; the task is then unchanged.
    pub fn reset_to(&mut self, cue: usize) -> Result<usize> {
        check::index("cue", cue, N_CUES)?;
        self.cue = cue;
        Ok(cue)
    }

    /// Whether `cue` is a win cue (0 or 2; the others are avoid-losing cues).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) naming `cue` if it is not
    /// below 4.
    pub fn is_win_cue(&self, cue: usize) -> Result<bool> {
        check::index("cue", cue, N_CUES)?;
        Ok(is_win(cue))
    }

    /// The correct action for `cue`: [`GoNoGoTask::GO`] for cues 0 and 1,
    /// [`GoNoGoTask::NO_GO`] for cues 2 and 3.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) naming `cue` if it is not
    /// below 4.
    pub fn correct_action(&self, cue: usize) -> Result<usize> {
        check::index("cue", cue, N_CUES)?;
        Ok(correct_action(cue))
    }
}

impl Environment for GoNoGoTask {
    fn n_states(&self) -> usize {
        N_CUES
    }
    fn n_actions(&self) -> usize {
        2
    }
    /// Shows the next cue: drawn uniformly (one draw), or the next of the current block (a
    /// new block is shuffled when the last is used up).
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        self.cue = if self.blocks {
            if self.shown == N_CUES {
                self.order.shuffle(rng);
                self.shown = 0;
            }
            self.shown += 1;
            self.order[self.shown - 1]
        } else {
            rng.random_range(0..N_CUES)
        };
        self.cue
    }
    /// Draws the outcome of the action on the current cue (one uniform draw) and ends the
    /// episode.
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Result<Outcome> {
        check::index("action", action, 2)?;
        let p_good = if action == correct_action(self.cue) {
            self.correct_probability
        } else {
            1.0 - self.correct_probability
        };
        let good = rng.random::<f64>() < p_good;
        let reward = match (is_win(self.cue), good) {
            (true, true) => 1.0,
            (false, false) => -1.0,
            _ => 0.0,
        };
        Ok(Outcome {
            reward,
            next_state: None,
        })
    }
}

/// Whether a cue (below 4) is a win cue.
fn is_win(cue: usize) -> bool {
    cue.is_multiple_of(2)
}

/// The correct action for a cue (below 4).
fn correct_action(cue: usize) -> usize {
    if cue < 2 {
        GoNoGoTask::GO
    } else {
        GoNoGoTask::NO_GO
    }
}
