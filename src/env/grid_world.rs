//! A deterministic grid world with obstacles, a goal and an optional environment change: the
//! first task of the DRA paper (Patel, Acerbi & Pouget 2020).

use std::collections::VecDeque;

use rand::Rng;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// A cell of the grid: `[row, col]`, row 0 at the top.
pub type Cell = [usize; 2];

/// A deterministic grid world. Cells are `[row, col]` with row 0 at the top; the state of a
/// cell is `row * cols + col`, and every cell (obstacles and the goal included) is a state,
/// so [`Environment::n_states`] is `rows · cols`.
///
/// Actions: 0 up, 1 down, 2 left, 3 right. A move into the border or into an obstacle leaves
/// the agent in place. Every step pays −1 (bumps included), except the step that enters the
/// goal, which pays +10 and ends the episode (`next_state: None`). There is no step cap:
/// the constructors refuse a goal that cannot be reached from the start, so an agent that
/// keeps moving at random ends its episode with probability 1. A step after the episode has
/// ended (without [`Environment::reset`]) moves from the goal cell, and ends the episode
/// again (+10) if it stays there.
///
/// [`GridWorld::paper`] is the paper's 6 × 9 world; its environment change (obstacle
/// `[0, 7]` removed, goal moved to `[0, 6]`) is applied by [`GridWorld::apply_change`], and
/// [`GridWorld::paper_changed`] is the changed world.
///
/// Cloning: the obstacle masks live on the heap, and [`Clone::clone_from`] is implemented to
/// copy into the existing buffers, so `rollout.clone_from(&snapshot)` between worlds of the
/// same size allocates nothing (a trainer does this for every rollout).
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, GridWorld};
/// let mut env = GridWorld::paper();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// assert_eq!((env.n_states(), env.n_actions()), (54, 4));
/// assert_eq!(env.reset(&mut rng), env.state_of(2, 0)?);
/// assert_eq!(env.shortest_path_len(), Some(14));
/// let up = env.step(0, &mut rng)?;
/// assert_eq!((up.reward, up.next_state), (-1.0, Some(env.state_of(1, 0)?)));
/// assert!(env.apply_change());
/// assert_eq!((env.goal(), env.shortest_path_len()), ([0, 6], Some(8)));
/// assert!(env.step(4, &mut rng).is_err()); // no action 4
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug, PartialEq)]
pub struct GridWorld {
    rows: usize,
    cols: usize,
    start: Cell,
    goal: Cell,
    /// `blocked[state]`: whether the cell is an obstacle.
    blocked: Vec<bool>,
    /// The change, if any: the goal and the obstacle mask that [`GridWorld::apply_change`]
    /// swaps in (and swaps back out, if it is applied again).
    change: Option<(Cell, Vec<bool>)>,
    changed: bool,
    state: usize,
}

impl Clone for GridWorld {
    fn clone(&self) -> Self {
        GridWorld {
            rows: self.rows,
            cols: self.cols,
            start: self.start,
            goal: self.goal,
            blocked: self.blocked.clone(),
            change: self.change.clone(),
            changed: self.changed,
            state: self.state,
        }
    }

    /// Copies `source` into `self`, reusing `self`'s buffers: no allocation when both worlds
    /// have the same number of cells (and both have a change, or neither).
    fn clone_from(&mut self, source: &Self) {
        self.rows = source.rows;
        self.cols = source.cols;
        self.start = source.start;
        self.goal = source.goal;
        self.blocked.clone_from(&source.blocked);
        match (&mut self.change, &source.change) {
            (Some((goal, mask)), Some((src_goal, src_mask))) => {
                *goal = *src_goal;
                mask.clone_from(src_mask);
            }
            (change, src) => change.clone_from(src),
        }
        self.changed = source.changed;
        self.state = source.state;
    }
}

/// The paper's obstacles, before the change.
const PAPER_OBSTACLES: [Cell; 7] = [[1, 2], [2, 2], [3, 2], [0, 7], [1, 7], [2, 7], [4, 5]];

impl GridWorld {
    /// The reward of the step that enters the goal.
    pub const GOAL_REWARD: f64 = 10.0;
    /// The reward of every other step (bumps included).
    pub const STEP_REWARD: f64 = -1.0;

    /// A world of `rows × cols` cells with the agent starting at `start`, the goal at `goal`,
    /// and `obstacles` (duplicates are allowed). The agent stands at the start.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the option and its value: `rows` or `cols` 0; a grid
    /// whose `rows · cols · 4` memories would exceed [`MAX_FLOATS`](crate::check::MAX_FLOATS)
    /// (checked arithmetic, before allocating); a start, goal or obstacle outside the grid;
    /// a start or goal on an obstacle; the start equal to the goal; a goal that cannot be
    /// reached from the start.
    pub fn new(
        rows: usize,
        cols: usize,
        start: Cell,
        goal: Cell,
        obstacles: &[Cell],
    ) -> Result<Self> {
        check::at_least_one("rows", rows)?;
        check::at_least_one("cols", cols)?;
        check::floats(
            &[rows, cols, 4],
            "rows x cols",
            format_args!("{rows} x {cols}"),
            "the table of rows x cols x 4 memories",
        )?;
        let n = rows * cols; // cannot overflow: checked above
        let mut world = GridWorld {
            rows,
            cols,
            start,
            goal,
            blocked: Vec::new(),
            change: None,
            changed: false,
            state: 0,
        };
        world.inside("start", start)?;
        world.blocked = world.mask(obstacles, "obstacles", n)?;
        world.check_goal("goal", goal, &world.blocked)?;
        world.state = world.index(start);
        Ok(world)
    }

    /// The paper's world: 6 rows × 9 columns, start `[2, 0]`, goal `[0, 8]`, obstacles
    /// `[1, 2]`, `[2, 2]`, `[3, 2]`, `[0, 7]`, `[1, 7]`, `[2, 7]`, `[4, 5]`; its change
    /// removes the obstacle `[0, 7]` and moves the goal to `[0, 6]`. The shortest path takes
    /// 14 steps (return −3) before the change and 8 steps (return +3) after.
    pub fn paper() -> Self {
        let changed: Vec<Cell> = PAPER_OBSTACLES
            .iter()
            .copied()
            .filter(|&c| c != [0, 7])
            .collect();
        Self::new(6, 9, [2, 0], [0, 8], &PAPER_OBSTACLES)
            .and_then(|w| w.with_change([0, 6], &changed))
            .expect("the paper's world is valid")
    }

    /// The paper's world after its change ([`GridWorld::paper`] with
    /// [`GridWorld::apply_change`] applied).
    pub fn paper_changed() -> Self {
        let mut world = Self::paper();
        world.apply_change();
        world
    }

    /// Gives the world an environment change: when [`GridWorld::apply_change`] is called, the
    /// goal becomes `goal` and the obstacles become `obstacles` (the whole list after the
    /// change). The start stays.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] as in [`GridWorld::new`], naming `changed goal` or
    /// `changed obstacles`.
    pub fn with_change(mut self, goal: Cell, obstacles: &[Cell]) -> Result<Self> {
        let mask = self.mask(obstacles, "changed obstacles", self.blocked.len())?;
        self.check_goal("changed goal", goal, &mask)?;
        self.change = Some((goal, mask));
        Ok(self)
    }

    /// Applies the environment change (the goal and obstacles given by
    /// [`GridWorld::with_change`]); returns `false`, changing nothing, if the world has no
    /// change. Applying it again restores the world before the change. The agent stays
    /// where it is; the change is meant to be applied between episodes, before
    /// [`Environment::reset`].
    pub fn apply_change(&mut self) -> bool {
        match &mut self.change {
            Some((goal, mask)) => {
                std::mem::swap(goal, &mut self.goal);
                std::mem::swap(mask, &mut self.blocked);
                self.changed = !self.changed;
                true
            }
            None => false,
        }
    }

    /// Whether the change is in effect (applied an odd number of times).
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The start cell.
    pub fn start(&self) -> Cell {
        self.start
    }

    /// The goal cell (after the change, if it is in effect).
    pub fn goal(&self) -> Cell {
        self.goal
    }

    /// The current state (the agent's cell as `row * cols + col`).
    pub fn state(&self) -> usize {
        self.state
    }

    /// The state of the cell `[row, col]`: `row * cols + col`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a row or column outside the grid.
    pub fn state_of(&self, row: usize, col: usize) -> Result<usize> {
        check::index("row", row, self.rows)?;
        check::index("col", col, self.cols)?;
        Ok(self.index([row, col]))
    }

    /// The cell `[row, col]` of a state.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a state not below `rows · cols`.
    pub fn cell_of(&self, state: usize) -> Result<Cell> {
        check::index("state", state, self.blocked.len())?;
        Ok([state / self.cols, state % self.cols])
    }

    /// Whether `cell` is an obstacle (`false` for a cell outside the grid).
    pub fn is_obstacle(&self, cell: Cell) -> bool {
        cell[0] < self.rows && cell[1] < self.cols && self.blocked[self.index(cell)]
    }

    /// The number of steps of a shortest path from the start to the goal, by breadth-first
    /// search (its return is `(len − 1) · (−1) + 10`). Always `Some` for a world built by
    /// the constructors, which refuse an unreachable goal.
    pub fn shortest_path_len(&self) -> Option<usize> {
        shortest_path(self.rows, self.cols, &self.blocked, self.start, self.goal)
    }

    fn index(&self, cell: Cell) -> usize {
        cell[0] * self.cols + cell[1]
    }

    /// Checks that `cell` lies inside the grid.
    fn inside(&self, name: &str, cell: Cell) -> Result<()> {
        if cell[0] < self.rows && cell[1] < self.cols {
            Ok(())
        } else {
            let reason = format!("outside the {} x {} grid", self.rows, self.cols);
            Err(Error::invalid_option(name, format!("{cell:?}"), reason))
        }
    }

    /// The obstacle mask of `obstacles` (each inside the grid and not the start), allocated
    /// fallibly.
    fn mask(&self, obstacles: &[Cell], name: &str, n: usize) -> Result<Vec<bool>> {
        let mut mask = check::filled(n, false, name)?;
        for (i, &cell) in obstacles.iter().enumerate() {
            let what = format!("{name}[{i}]");
            self.inside(&what, cell)?;
            if cell == self.start {
                let reason = "is the start cell";
                return Err(Error::invalid_option(what, format!("{cell:?}"), reason));
            }
            mask[self.index(cell)] = true;
        }
        Ok(mask)
    }

    /// Checks a goal against the grid, the start and the obstacles of `mask`.
    fn check_goal(&self, name: &str, goal: Cell, mask: &[bool]) -> Result<()> {
        self.inside(name, goal)?;
        let fault = if mask[self.index(goal)] {
            Some("is an obstacle".to_string())
        } else if goal == self.start {
            Some("is the start cell".to_string())
        } else if shortest_path(self.rows, self.cols, mask, self.start, goal).is_none() {
            Some(format!("cannot be reached from the start {:?}", self.start))
        } else {
            None
        };
        match fault {
            Some(reason) => Err(Error::invalid_option(name, format!("{goal:?}"), reason)),
            None => Ok(()),
        }
    }

    /// The cell one move away in direction `action` (0 up, 1 down, 2 left, 3 right), or the
    /// same cell at the border or before an obstacle.
    fn target(&self, cell: Cell, action: usize) -> Cell {
        move_in(self.rows, self.cols, &self.blocked, cell, action)
    }
}

/// The cell one move away, or `cell` itself for a bump.
fn move_in(rows: usize, cols: usize, blocked: &[bool], cell: Cell, action: usize) -> Cell {
    let [r, c] = cell;
    let next = match action {
        0 if r > 0 => [r - 1, c],
        1 if r + 1 < rows => [r + 1, c],
        2 if c > 0 => [r, c - 1],
        3 if c + 1 < cols => [r, c + 1],
        _ => return cell,
    };
    if blocked[next[0] * cols + next[1]] {
        cell
    } else {
        next
    }
}

/// Breadth-first search from `start` to `goal` (allocates its queue: not for hot paths).
fn shortest_path(
    rows: usize,
    cols: usize,
    blocked: &[bool],
    start: Cell,
    goal: Cell,
) -> Option<usize> {
    let mut dist = vec![usize::MAX; blocked.len()];
    let mut queue = VecDeque::new();
    dist[start[0] * cols + start[1]] = 0;
    queue.push_back(start);
    while let Some(cell) = queue.pop_front() {
        let d = dist[cell[0] * cols + cell[1]];
        if cell == goal {
            return Some(d);
        }
        for action in 0..4 {
            let next = move_in(rows, cols, blocked, cell, action);
            let k = next[0] * cols + next[1];
            if dist[k] == usize::MAX {
                dist[k] = d + 1;
                queue.push_back(next);
            }
        }
    }
    None
}

impl Environment for GridWorld {
    fn n_states(&self) -> usize {
        self.blocked.len()
    }
    fn n_actions(&self) -> usize {
        4
    }
    /// Puts the agent at the start (draws nothing).
    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> usize {
        self.state = self.index(self.start);
        self.state
    }
    /// Moves the agent (draws nothing).
    fn step<R: Rng + ?Sized>(&mut self, action: usize, _rng: &mut R) -> Result<Outcome> {
        check::index("action", action, 4)?;
        let cell = [self.state / self.cols, self.state % self.cols];
        let next = self.target(cell, action);
        self.state = self.index(next);
        Ok(if next == self.goal {
            Outcome {
                reward: Self::GOAL_REWARD,
                next_state: None,
            }
        } else {
            Outcome {
                reward: Self::STEP_REWARD,
                next_state: Some(self.state),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_from_reuses_the_buffers() {
        let snapshot = GridWorld::paper_changed();
        let mut rollout = GridWorld::paper();
        let (a, b) = (
            rollout.blocked.as_ptr(),
            rollout.change.as_ref().unwrap().1.as_ptr(),
        );
        rollout.clone_from(&snapshot);
        assert_eq!(rollout, snapshot);
        assert_eq!(rollout.blocked.as_ptr(), a);
        assert_eq!(rollout.change.as_ref().unwrap().1.as_ptr(), b);
    }
}
