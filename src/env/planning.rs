//! The planning task of Huys et al. (2015): six nodes, two moves from each, a fixed number of
//! moves per trial; the third task of the DRA paper.

use std::ops::Range;

use rand::Rng;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// Number of nodes.
const N_NODES: usize = 6;

/// `SUCCESSORS[node][action]` (0-based; action 0 goes to the lower-numbered successor).
const SUCCESSORS: [[usize; 2]; N_NODES] = [[1, 3], [2, 4], [3, 5], [1, 4], [0, 5], [0, 2]];

/// `REWARDS[node][action]`.
const REWARDS: [[f64; 2]; N_NODES] = [
    [140.0, 20.0],
    [-20.0, -70.0],
    [-20.0, -70.0],
    [20.0, -20.0],
    [-70.0, -20.0],
    [-20.0, 20.0],
];

/// The planning task after Huys et al. (2015): six nodes, two moves from each node, and
/// trials of exactly M moves with the plain (undiscounted) sum of rewards.
///
/// The paper numbers the nodes 1..6; here node k of the paper is index k − 1:
///
/// | node (paper) | index | action 0 → (reward) | action 1 → (reward) |
/// |---|---|---|---|
/// | 1 | 0 | 2 (+140) | 4 (+20) |
/// | 2 | 1 | 3 (−20) | 5 (−70) |
/// | 3 | 2 | 4 (−20) | 6 (−70) |
/// | 4 | 3 | 2 (+20) | 5 (−20) |
/// | 5 | 4 | 1 (−70) | 6 (−20) |
/// | 6 | 5 | 1 (−20) | 3 (+20) |
///
/// (successors in the paper's numbering; action 0 goes to the lower-numbered successor).
///
/// The state is the pair (moves made k, node s) with index `k · 6 + s`, so there are 6·M
/// states and 2 actions; the M-th move ends the episode (`next_state: None`), and a step
/// after the end pays its reward and ends it again. [`Environment::reset`] draws the start
/// node uniformly (one draw), unless [`PlanningTask::with_start`] fixes it.
///
/// The memories of the last level (k = M − 1) hold the immediate rewards, which are known:
/// [`PlanningTask::last_level_states`]. [`PlanningTask::optimal_values`] gives Q* by
/// backward induction.
///
/// The type is `Copy` (no heap memory), so cloning, `clone_from` included, never allocates.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, PlanningTask};
/// let mut env = PlanningTask::new(3)?.with_start(0)?; // node 1 of the paper
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// assert_eq!((env.n_states(), env.n_actions()), (18, 2));
/// assert_eq!(env.optimal_return(0)?, 100.0); // 1 → 2 → 3 → 4: 140 − 20 − 20
/// let mut s = env.reset(&mut rng);
/// let mut total = 0.0;
/// for _ in 0..3 {
///     let q = &env.optimal_values()[2 * s..2 * s + 2];
///     let a = if q[0] >= q[1] { 0 } else { 1 };
///     let out = env.step(a, &mut rng)?;
///     total += out.reward;
///     match out.next_state {
///         Some(next) => s = next,
///         None => break,
///     }
/// }
/// assert_eq!(total, 100.0);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanningTask {
    moves: usize,
    start: Option<usize>,
    node: usize,
    made: usize,
}

impl PlanningTask {
    /// The most moves per trial [`PlanningTask::new`] accepts (the paper uses 3 to 5; 2¹²
    /// paths are still few enough to search exhaustively).
    pub const MAX_MOVES: usize = 12;

    /// A task of `moves` moves per trial, with a uniformly drawn start node. Until the first
    /// [`Environment::reset`] the agent stands at node index 0.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming `moves` if it is 0 or above
    /// [`PlanningTask::MAX_MOVES`].
    pub fn new(moves: usize) -> Result<Self> {
        check::at_least_one("moves", moves)?;
        if moves > Self::MAX_MOVES {
            let reason = format!("must be at most {}", Self::MAX_MOVES);
            return Err(Error::invalid_option("moves", moves, reason));
        }
        Ok(PlanningTask {
            moves,
            start: None,
            node: 0,
            made: 0,
        })
    }

    /// Starts every episode at `node` (0-based) instead of drawing it; the agent is put
    /// there now.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `start node` if `node` is not below 6.
    pub fn with_start(mut self, node: usize) -> Result<Self> {
        check::index("start node", node, N_NODES)?;
        self.start = Some(node);
        self.node = node;
        self.made = 0;
        Ok(self)
    }

    /// The fixed start node, if any.
    pub fn start(&self) -> Option<usize> {
        self.start
    }

    /// Starts an episode at `node` (this episode only) and returns its state (= `node`).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `start node` if `node` is not below 6; the task is
    /// then unchanged.
    pub fn reset_to(&mut self, node: usize) -> Result<usize> {
        check::index("start node", node, N_NODES)?;
        self.node = node;
        self.made = 0;
        Ok(node)
    }

    /// Moves per trial (M).
    pub fn moves(&self) -> usize {
        self.moves
    }

    /// The current node.
    pub fn node(&self) -> usize {
        self.node
    }

    /// Moves made in the current episode.
    pub fn moves_made(&self) -> usize {
        self.made
    }

    /// The node that `action` leads to from `node`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `node` or `action`.
    pub fn successor(&self, node: usize, action: usize) -> Result<usize> {
        check::index("node", node, N_NODES)?;
        check::index("action", action, 2)?;
        Ok(SUCCESSORS[node][action])
    }

    /// The reward of `action` at `node`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `node` or `action`.
    pub fn reward(&self, node: usize, action: usize) -> Result<f64> {
        check::index("node", node, N_NODES)?;
        check::index("action", action, 2)?;
        Ok(REWARDS[node][action])
    }

    /// The state of node `node` after `level` moves: `level · 6 + node`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `level` (not below M) or `node` (not below 6).
    pub fn state_of(&self, level: usize, node: usize) -> Result<usize> {
        check::index("level", level, self.moves)?;
        check::index("node", node, N_NODES)?;
        Ok(level * N_NODES + node)
    }

    /// The level (moves made) of a state.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `state` if it is not below 6·M.
    pub fn level_of(&self, state: usize) -> Result<usize> {
        check::index("state", state, self.n_states())?;
        Ok(state / N_NODES)
    }

    /// The node of a state.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `state` if it is not below 6·M.
    pub fn node_of(&self, state: usize) -> Result<usize> {
        check::index("state", state, self.n_states())?;
        Ok(state % N_NODES)
    }

    /// The states of the last level (k = M − 1), whose memories hold the immediate rewards:
    /// `6·(M − 1) .. 6·M`.
    pub fn last_level_states(&self) -> Range<usize> {
        (self.moves - 1) * N_NODES..self.moves * N_NODES
    }

    /// Whether `state` is on the last level (`false` for a state out of range).
    pub fn is_last_level(&self, state: usize) -> bool {
        self.last_level_states().contains(&state)
    }

    /// Q*(state, action) for every state, row-major (`6·M × 2`: entry `2 · state + action`),
    /// by backward induction over the finite horizon: at the last level Q* is the immediate
    /// reward, and below it Q*(k, s, a) = r(s, a) + maxₐ′ Q*(k + 1, s′, a′).
    pub fn optimal_values(&self) -> Vec<f64> {
        let m = self.moves;
        let mut q = vec![0.0_f64; m * N_NODES * 2];
        for k in (0..m).rev() {
            for s in 0..N_NODES {
                for a in 0..2 {
                    let next = if k + 1 < m {
                        let row = 2 * ((k + 1) * N_NODES + SUCCESSORS[s][a]);
                        q[row].max(q[row + 1])
                    } else {
                        0.0
                    };
                    q[2 * (k * N_NODES + s) + a] = REWARDS[s][a] + next;
                }
            }
        }
        q
    }

    /// The best return of a trial from `node`: max over actions of Q* at level 0 (computed
    /// without allocating).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] naming `node` if it is not below 6.
    pub fn optimal_return(&self, node: usize) -> Result<f64> {
        check::index("node", node, N_NODES)?;
        // v[s]: the best return of the moves left from node s.
        let mut v = [0.0; N_NODES];
        for _ in 0..self.moves {
            let mut next = [0.0; N_NODES];
            for (s, out) in next.iter_mut().enumerate() {
                *out = (0..2)
                    .map(|a| REWARDS[s][a] + v[SUCCESSORS[s][a]])
                    .fold(f64::NEG_INFINITY, f64::max);
            }
            v = next;
        }
        Ok(v[node])
    }
}

impl Environment for PlanningTask {
    fn n_states(&self) -> usize {
        self.moves * N_NODES
    }
    fn n_actions(&self) -> usize {
        2
    }
    /// Starts at the fixed start node, or at a node drawn uniformly (one draw).
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        self.node = match self.start {
            Some(node) => node,
            None => rng.random_range(0..N_NODES),
        };
        self.made = 0;
        self.node
    }
    /// Makes a move (draws nothing).
    fn step<R: Rng + ?Sized>(&mut self, action: usize, _rng: &mut R) -> Result<Outcome> {
        check::index("action", action, 2)?;
        let reward = REWARDS[self.node][action];
        self.node = SUCCESSORS[self.node][action];
        self.made = self.made.saturating_add(1);
        Ok(Outcome {
            reward,
            next_state: (self.made < self.moves).then(|| self.made * N_NODES + self.node),
        })
    }
}
