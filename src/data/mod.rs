//! Choice data: [`Trial`], [`Session`], [`Subject`], [`Dataset`], and CSV reading.
//!
//! A session is a sequence of trials (state, action, reward, optional next state) stored as
//! columns, so that the likelihood's hot loop reads plain slices. Values reset at the start of
//! every session. A subject has one or more sessions; subjects may have different numbers of
//! trials (ragged data is normal).
//!
//! A trial without a response (a *missed* trial: [`MISSED`] in the action column; an empty or
//! `NA` action in a CSV file) is kept, not dropped: it adds nothing to the likelihood, and by
//! default changes no value (whether its outcome is learned from is the model's option,
//! [`Missed`](crate::learning::Missed)). So [`Subject::n_trials`] counts every trial and
//! [`Subject::n_choices`] the trials with a response, the observations that BIC counts.
//!
//! Validation happens once, here: lengths agree, sessions are not empty, every subject made at
//! least one choice, rewards are finite, subject identifiers are unique. A model checks separately that the actions and states fit
//! its table (see [`crate::Model::likelihood`]).
//!
//! ```
//! use rlgrad::data::{Dataset, Session, Subject};
//! let s = Session::bandit("day1", vec![0, 1, 1], vec![1.0, 0.0, 1.0])?;
//! let subject = Subject::new("s01", vec![s])?;
//! let data = Dataset::new(vec![subject])?;
//! assert_eq!(data.n_trials(), 3);
//! assert_eq!(data.n_actions(), 2);
//!
//! // A trial without a response is kept, and counted apart.
//! use rlgrad::data::MISSED;
//! let s = Session::bandit("day2", vec![0, MISSED, 1], vec![1.0, 0.0, 1.0])?;
//! assert_eq!((s.len(), s.n_missed(), s.n_choices()), (3, 1, 2));
//! assert_eq!(s.trial(1).unwrap().action, None);
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod csv;
mod lines;

pub use self::csv::{ActionBase, CsvOptions, CsvReport, CsvWarning, read_csv, read_csv_from};
pub use self::lines::Lines;

use crate::check;
use crate::error::{Error, Result};

/// One trial, as read from a [`Session`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trial {
    /// State index (0 for a bandit).
    pub state: usize,
    /// Chosen action, 0-based; `None` for a missed trial (no response, [`MISSED`]).
    pub action: Option<usize>,
    /// Reward (finite).
    pub reward: f64,
    /// Next state, for rules that bootstrap; `None` when not recorded or terminal.
    pub next_state: Option<usize>,
}

/// Marker for "no next state" in [`Session::next_states`].
pub const NO_STATE: u32 = u32::MAX;

/// Marker for "no response" in [`Session::actions`]: a missed trial (an empty or `NA` action
/// in a CSV file). Missed trials are kept: they add nothing to the likelihood and, unless the
/// model learns from their outcome ([`Missed::Learn`](crate::learning::Missed::Learn)),
/// change no value; perseveration's previous action is the last one actually chosen.
pub const MISSED: u32 = u32::MAX;

/// A sequence of trials, stored column-wise.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    id: String,
    states: Vec<u32>,
    actions: Vec<u32>,
    rewards: Vec<f64>,
    next_states: Option<Vec<u32>>,
}

impl Session {
    /// A session from its columns. An action may be [`MISSED`] (a trial without a
    /// response).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the columns differ in length. (Emptiness and reward
    /// finiteness are checked by [`Subject::new`], which can name the subject.)
    pub fn new(
        id: impl Into<String>,
        states: Vec<u32>,
        actions: Vec<u32>,
        rewards: Vec<f64>,
    ) -> Result<Self> {
        let id = id.into();
        check::len(
            &format!("states of session `{id}` (vs actions)"),
            actions.len(),
            states.len(),
        )?;
        check::len(
            &format!("rewards of session `{id}` (vs actions)"),
            actions.len(),
            rewards.len(),
        )?;
        Ok(Session {
            id,
            states,
            actions,
            rewards,
            next_states: None,
        })
    }

    /// A one-state (bandit) session from actions and rewards.
    ///
    /// # Errors
    /// As [`Session::new`].
    pub fn bandit(id: impl Into<String>, actions: Vec<u32>, rewards: Vec<f64>) -> Result<Self> {
        let states = vec![0; actions.len()];
        Session::new(id, states, actions, rewards)
    }

    /// Adds next states ([`NO_STATE`] where there is none).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the length differs from the number of trials.
    pub fn with_next_states(mut self, next_states: Vec<u32>) -> Result<Self> {
        check::len(
            &format!("next states of session `{}`", self.id),
            self.actions.len(),
            next_states.len(),
        )?;
        self.next_states = Some(next_states);
        Ok(self)
    }

    /// Session identifier.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Number of trials.
    pub fn len(&self) -> usize {
        self.actions.len()
    }
    /// Whether there are no trials.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
    /// State column.
    pub fn states(&self) -> &[u32] {
        &self.states
    }
    /// Action column ([`MISSED`] where the trial had no response).
    pub fn actions(&self) -> &[u32] {
        &self.actions
    }
    /// Whether trial `t` had no response (`false` past the end).
    pub fn is_missed(&self, t: usize) -> bool {
        self.actions.get(t) == Some(&MISSED)
    }
    /// Number of missed trials (no response).
    pub fn n_missed(&self) -> usize {
        self.actions.iter().filter(|&&a| a == MISSED).count()
    }
    /// Number of choices: the trials with a response.
    pub fn n_choices(&self) -> usize {
        self.len() - self.n_missed()
    }
    /// Reward column.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }
    /// Next-state column, if recorded.
    pub fn next_states(&self) -> Option<&[u32]> {
        self.next_states.as_deref()
    }

    /// Trial `t`, or `None` past the end.
    pub fn trial(&self, t: usize) -> Option<Trial> {
        Some(Trial {
            state: *self.states.get(t)? as usize,
            action: (self.actions[t] != MISSED).then_some(self.actions[t] as usize),
            reward: self.rewards[t],
            next_state: self
                .next_states
                .as_ref()
                .and_then(|n| (n[t] != NO_STATE).then_some(n[t] as usize)),
        })
    }

    /// The trials in order.
    pub fn trials(&self) -> impl Iterator<Item = Trial> + '_ {
        (0..self.len()).filter_map(move |t| self.trial(t))
    }

    /// 1 + the largest state index used (including next states).
    pub fn n_states_used(&self) -> usize {
        let s = self
            .states
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1);
        let n = self
            .next_states
            .iter()
            .flatten()
            .filter(|&&x| x != NO_STATE)
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1);
        s.max(n)
    }

    /// 1 + the largest action index chosen (missed trials aside).
    pub fn n_actions_used(&self) -> usize {
        self.actions
            .iter()
            .copied()
            .filter(|&a| a != MISSED)
            .max()
            .map_or(0, |m| m as usize + 1)
    }
}

/// One subject: an identifier and one or more sessions.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    id: String,
    sessions: Vec<Session>,
}

impl Subject {
    /// A subject from its sessions.
    ///
    /// # Errors
    /// [`Error::EmptyData`] if there are no sessions, a session has no trials, or every trial
    /// of every session is missed (no choice to fit); [`Error::InvalidTrial`] for a
    /// non-finite reward, naming subject, session and trial.
    pub fn new(id: impl Into<String>, sessions: Vec<Session>) -> Result<Self> {
        let id = id.into();
        if sessions.is_empty() {
            return Err(Error::empty_data(format!("subject `{id}` has no sessions")));
        }
        for s in &sessions {
            if s.is_empty() {
                let what = format!("session `{}` of subject `{id}` has no trials", s.id);
                return Err(Error::empty_data(what));
            }
            if let Some(t) = s.rewards.iter().position(|r| !r.is_finite()) {
                return Err(Error::InvalidTrial {
                    subject: id,
                    session: s.id.clone(),
                    trial: t,
                    field: "reward",
                    value: s.rewards[t].to_string(),
                    reason: "is not finite".to_string(),
                });
            }
        }
        if sessions.iter().all(|s| s.n_choices() == 0) {
            let what = format!(
                "subject `{id}` made no choice: all of its {} trials are missed (no response)",
                sessions.iter().map(Session::len).sum::<usize>()
            );
            return Err(Error::empty_data(what));
        }
        Ok(Subject { id, sessions })
    }

    /// Subject identifier.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The sessions.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }
    /// Total number of trials over all sessions, missed ones included.
    pub fn n_trials(&self) -> usize {
        self.sessions.iter().map(Session::len).sum()
    }
    /// Number of choices over all sessions: the trials with a response, the observations of
    /// the likelihood (what BIC counts).
    pub fn n_choices(&self) -> usize {
        self.sessions.iter().map(Session::n_choices).sum()
    }
    /// Number of missed trials (no response) over all sessions.
    pub fn n_missed(&self) -> usize {
        self.sessions.iter().map(Session::n_missed).sum()
    }

    /// Checks that every action (missed trials aside) is below `n_actions` and every state
    /// (and next state) below `n_states`, naming the first trial that is not.
    ///
    /// # Errors
    /// [`Error::InvalidTrial`] naming subject, session, trial, field and value.
    pub fn check_shape(&self, n_states: usize, n_actions: usize) -> Result<()> {
        for s in &self.sessions {
            let bad = |t: usize, field: &'static str, value: u32, limit: usize, what: &str| {
                Error::InvalidTrial {
                    subject: self.id.clone(),
                    session: s.id.clone(),
                    trial: t,
                    field,
                    value: value.to_string(),
                    reason: format!("is not below {what} = {limit} of the model"),
                }
            };
            if let Some(t) = s
                .actions
                .iter()
                .position(|&a| a != MISSED && a as usize >= n_actions)
            {
                return Err(bad(t, "action", s.actions[t], n_actions, "n_actions"));
            }
            if let Some(t) = s.states.iter().position(|&x| x as usize >= n_states) {
                return Err(bad(t, "state", s.states[t], n_states, "n_states"));
            }
            if let Some(ns) = &s.next_states
                && let Some(t) = ns
                    .iter()
                    .position(|&x| x != NO_STATE && x as usize >= n_states)
            {
                return Err(bad(t, "next_state", ns[t], n_states, "n_states"));
            }
        }
        Ok(())
    }
}

/// Many subjects.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    subjects: Vec<Subject>,
}

impl Dataset {
    /// A dataset from subjects.
    ///
    /// # Errors
    /// [`Error::EmptyData`] if there are no subjects; [`Error::DuplicateSubject`] naming a
    /// subject id that appears twice.
    pub fn new(subjects: Vec<Subject>) -> Result<Self> {
        if subjects.is_empty() {
            return Err(Error::empty_data("dataset has no subjects"));
        }
        let mut ids: Vec<&str> = subjects.iter().map(Subject::id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::DuplicateSubject {
                subject: w[0].to_string(),
            });
        }
        Ok(Dataset { subjects })
    }

    /// The subjects.
    pub fn subjects(&self) -> &[Subject] {
        &self.subjects
    }
    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }
    /// Whether there are no subjects (never true for a constructed dataset).
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }
    /// A subject by id.
    pub fn subject(&self, id: &str) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.id == id)
    }
    /// Total number of trials, missed ones included.
    pub fn n_trials(&self) -> usize {
        self.subjects.iter().map(Subject::n_trials).sum()
    }
    /// Total number of choices (trials with a response).
    pub fn n_choices(&self) -> usize {
        self.subjects.iter().map(Subject::n_choices).sum()
    }
    /// Total number of missed trials (no response).
    pub fn n_missed(&self) -> usize {
        self.subjects.iter().map(Subject::n_missed).sum()
    }
    /// 1 + the largest state index in the data.
    pub fn n_states(&self) -> usize {
        self.sessions()
            .map(Session::n_states_used)
            .max()
            .unwrap_or(0)
    }
    /// 1 + the largest action index chosen in the data (missed trials aside).
    pub fn n_actions(&self) -> usize {
        self.sessions()
            .map(Session::n_actions_used)
            .max()
            .unwrap_or(0)
    }

    fn sessions(&self) -> impl Iterator<Item = &Session> {
        self.subjects.iter().flat_map(|s| s.sessions.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_validates() {
        assert!(matches!(
            Session::bandit("a", vec![0, 1], vec![1.0]),
            Err(Error::DimensionMismatch { .. })
        ));
        let empty = Session::bandit("a", vec![], vec![]).unwrap();
        let err = Subject::new("s1", vec![empty]).unwrap_err();
        assert!(
            err.to_string().contains("session `a` of subject `s1`"),
            "{err}"
        );
        let nan = Session::bandit("a", vec![0, 1], vec![1.0, f64::NAN]).unwrap();
        let err = Subject::new("s1", vec![nan]).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidTrial {
                trial: 1,
                field: "reward",
                ..
            }
        ));
        assert!(Subject::new("s1", vec![]).is_err());
        assert!(Dataset::new(vec![]).is_err());
        let ok = Session::bandit("a", vec![0], vec![0.0]).unwrap();
        let s = Subject::new("s1", vec![ok]).unwrap();
        assert!(Dataset::new(vec![s.clone(), s]).is_err());
    }

    #[test]
    fn shape_check_names_trial() {
        let sess = Session::new("x", vec![0, 2], vec![1, 0], vec![0.0, 1.0]).unwrap();
        let s = Subject::new("s9", vec![sess]).unwrap();
        assert!(s.check_shape(3, 2).is_ok());
        let err = s.check_shape(2, 2).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidTrial {
                    trial: 1,
                    field: "state",
                    ..
                }
            ),
            "{err}"
        );
        let err = s.check_shape(3, 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("subject `s9`, session `x`, trial 0: action = 1")
        );
    }

    #[test]
    fn missed_trials_are_kept_and_counted() {
        let a = Session::bandit("a", vec![1, MISSED, 0, MISSED], vec![1.0, 0.0, 0.5, 2.0]).unwrap();
        let b = Session::bandit("b", vec![MISSED], vec![0.0]).unwrap();
        assert_eq!((a.n_missed(), a.n_choices(), a.len()), (2, 2, 4));
        assert!(a.is_missed(1) && !a.is_missed(0) && !a.is_missed(9));
        assert_eq!(a.n_actions_used(), 2);
        let actions: Vec<Option<usize>> = a.trials().map(|t| t.action).collect();
        assert_eq!(actions, [Some(1), None, Some(0), None]);
        let s = Subject::new("s", vec![a, b.clone()]).unwrap();
        assert_eq!((s.n_trials(), s.n_choices(), s.n_missed()), (5, 2, 3));
        // The shape check ignores the sentinel.
        assert!(s.check_shape(1, 2).is_ok());
        assert!(s.check_shape(1, 1).is_err());
        let d = Dataset::new(vec![s]).unwrap();
        assert_eq!((d.n_trials(), d.n_choices(), d.n_missed()), (5, 2, 3));
        assert_eq!(d.n_actions(), 2);
        // A subject needs one choice at least.
        let err = Subject::new("z", vec![b.clone(), b]).unwrap_err();
        assert!(
            matches!(err, Error::EmptyData { .. })
                && err
                    .to_string()
                    .contains("subject `z` made no choice: all of its 2 trials"),
            "{err}"
        );
    }

    #[test]
    fn trials_iterate_with_next_states() {
        let sess = Session::new("x", vec![0, 1], vec![1, 0], vec![0.5, 1.0])
            .unwrap()
            .with_next_states(vec![1, NO_STATE])
            .unwrap();
        let t: Vec<Trial> = sess.trials().collect();
        assert_eq!(t[0].next_state, Some(1));
        assert_eq!(t[1].next_state, None);
        assert_eq!(sess.n_states_used(), 2);
    }
}
