//! [`ModelName::build`]: a model of the menu for a [`Table`], as a [`MenuModel`] that fits
//! and simulates.

use std::fmt;

use super::ModelName;
use crate::env::Bandit;
use crate::fit::{FitModel, Simulate, Simulator, TaskSimulator};
use crate::learning::RescorlaWagner;
use crate::observation::Softmax;
use crate::task::{GoNoGo, KalmanBandit, RwChoiceKernel, TaskModel, TwoStep};
use crate::{Error, Model, Result};

/// What a model is built for: the table of the data (or of the bandit), and the bandit a
/// simulation plays (`None` when nothing is simulated).
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    /// The number of states (the Rescorla-Wagner models' Q table; ignored by the task models
    /// with a fixed layout).
    pub n_states: usize,
    /// The number of actions (for the kalman models: the restless bandit's arms).
    pub n_actions: usize,
    /// The bandit the models that play one simulate on (the Rescorla-Wagner models need it;
    /// `rw-kernel` has a default); the task models of the two-step, go/no-go and
    /// restless-bandit tasks simulate their own task.
    pub bandit: Option<&'a Bandit>,
}

/// A table every model of the menu can be built for, to ask a model about itself.
pub(super) const PROBE: Table<'static> = Table {
    n_states: 3,
    n_actions: 2,
    bandit: None,
};

/// The two-step task, for messages.
const TWO_STEP: &str = "the two-step task (Daw et al. 2011)";

/// The restless bandit, for messages.
const RESTLESS: &str = "the restless bandit (Daw et al. 2006)";

/// The go/no-go task, for messages.
const GO_NOGO: &str = "the go/no-go task (Guitart-Masip et al. 2012)";

impl ModelName {
    /// The model for `table` (initial values 0).
    ///
    /// # Errors
    /// The model's own errors for a table it does not fit (no state, fewer than two actions,
    /// sizes too large to allocate, …).
    pub fn build(self, table: &Table) -> Result<MenuModel> {
        use ModelName as M;
        let (n_states, n_actions) = (table.n_states, table.n_actions);
        let rw = |rule, obs| MenuModel::rescorla_wagner(self, rule, obs, table);
        let own = |model, task| Ok(MenuModel::own_task(self, model, task));
        match self {
            M::Rw => rw(RescorlaWagner::new(), Softmax::new()),
            M::RwDual => rw(RescorlaWagner::dual(), Softmax::new()),
            M::RwPersev => rw(RescorlaWagner::new(), Softmax::with_perseveration()),
            M::RwDualPersev => rw(RescorlaWagner::dual(), Softmax::with_perseveration()),
            M::RwPerState => rw(
                RescorlaWagner::new(),
                Softmax::per_state(&(0..n_states).collect::<Vec<_>>())?,
            ),
            M::RwKernel => MenuModel::on_bandit(
                self,
                RwChoiceKernel::new(n_states, n_actions)?,
                table,
                RwChoiceKernel::with_task,
            ),
            M::TwoStepHybrid => own(Box::new(TwoStep::hybrid()), TWO_STEP),
            M::TwoStepMf => own(Box::new(TwoStep::model_free()), TWO_STEP),
            M::TwoStepMb => own(Box::new(TwoStep::model_based()), TWO_STEP),
            M::GngM1 => own(Box::new(GoNoGo::m1()?), GO_NOGO),
            M::GngM2 => own(Box::new(GoNoGo::m2()?), GO_NOGO),
            M::GngM3 => own(Box::new(GoNoGo::m3()?), GO_NOGO),
            M::GngM4 => own(Box::new(GoNoGo::m4()?), GO_NOGO),
            M::Kalman => own(Box::new(KalmanBandit::new(n_actions)?), RESTLESS),
            M::KalmanBonus => own(Box::new(KalmanBandit::daw2006(n_actions)?), RESTLESS),
            M::KalmanSmep => own(Box::new(KalmanBandit::smep(n_actions)?), RESTLESS),
        }
    }

    /// Whether the model's latent variables can be exported ([`Model::latents`]): the
    /// Rescorla-Wagner + softmax models, those whose [`MenuModel::rw`] is `Some`.
    pub fn has_latents(self) -> bool {
        self.build(&PROBE).is_ok_and(|b| b.rw().is_some())
    }
}

/// A task model of the menu: fitted like any [`FitModel`], simulated on its task, cloned.
trait TaskEntry: FitModel {
    /// The model simulating one session of `n_trials` trials per subject.
    fn simulator(self: Box<Self>, n_trials: usize) -> Result<Box<dyn Simulate>>;

    /// A copy.
    fn boxed_clone(&self) -> Box<dyn TaskEntry>;
}

impl<M: TaskModel + Clone + 'static> TaskEntry for M {
    fn simulator(self: Box<Self>, n_trials: usize) -> Result<Box<dyn Simulate>> {
        Ok(Box::new(TaskSimulator::new(*self, n_trials)?))
    }

    fn boxed_clone(&self) -> Box<dyn TaskEntry> {
        Box::new(self.clone())
    }
}

/// A model of the menu, built for a [`Table`] ([`ModelName::build`]): a [`FitModel`] to fit
/// ([`MenuModel::model`]), and its simulator ([`MenuModel::simulator`]). `Send + Sync`, and a
/// clone copies the model (and its bandit).
pub struct MenuModel {
    name: ModelName,
    kind: Kind,
}

enum Kind {
    /// Rescorla-Wagner + softmax: latents, and simulation on the bandit.
    Rw {
        model: Model<RescorlaWagner, Softmax>,
        bandit: Option<Bandit>,
    },
    /// A task model, simulated on the bandit it was given (`task` None) or on its own task.
    Task {
        model: Box<dyn TaskEntry>,
        task: Option<&'static str>,
    },
}

impl Clone for Kind {
    fn clone(&self) -> Kind {
        match self {
            Kind::Rw { model, bandit } => Kind::Rw {
                model: model.clone(),
                bandit: bandit.clone(),
            },
            Kind::Task { model, task } => Kind::Task {
                model: model.boxed_clone(),
                task: *task,
            },
        }
    }
}

impl Clone for MenuModel {
    fn clone(&self) -> MenuModel {
        MenuModel {
            name: self.name,
            kind: self.kind.clone(),
        }
    }
}

impl fmt::Debug for MenuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MenuModel")
            .field("name", &self.name)
            .field("params", &self.names())
            .finish_non_exhaustive()
    }
}

impl MenuModel {
    fn rescorla_wagner(
        name: ModelName,
        rule: RescorlaWagner,
        obs: Softmax,
        table: &Table,
    ) -> Result<MenuModel> {
        let model = Model::new(rule, obs, table.n_states, table.n_actions)?;
        Ok(MenuModel {
            name,
            kind: Kind::Rw {
                model,
                bandit: table.bandit.cloned(),
            },
        })
    }

    /// A task model that plays the bandit of a simulation: `with_bandit` gives it the
    /// table's bandit, if there is one.
    fn on_bandit<M: TaskModel + Clone + 'static>(
        name: ModelName,
        model: M,
        table: &Table,
        with_bandit: impl FnOnce(M, Bandit) -> Result<M>,
    ) -> Result<MenuModel> {
        let model = match table.bandit {
            Some(b) => with_bandit(model, b.clone())?,
            None => model,
        };
        Ok(MenuModel {
            name,
            kind: Kind::Task {
                model: Box::new(model),
                task: None,
            },
        })
    }

    /// A task model that simulates its own `task` (named for messages).
    fn own_task(name: ModelName, model: Box<dyn TaskEntry>, task: &'static str) -> MenuModel {
        MenuModel {
            name,
            kind: Kind::Task {
                model,
                task: Some(task),
            },
        }
    }

    /// The model's name on the menu.
    pub fn name(&self) -> ModelName {
        self.name
    }

    /// The model, to fit ([`fit::map`](crate::fit::map), [`fit::em`](crate::fit::em), …).
    pub fn model(&self) -> &dyn FitModel {
        match &self.kind {
            Kind::Rw { model, .. } => model,
            Kind::Task { model, .. } => &**model,
        }
    }

    /// The parameter names, in θ order.
    pub fn names(&self) -> Vec<String> {
        self.model().layout().names().map(str::to_string).collect()
    }

    /// The Rescorla-Wagner + softmax model, if it is one (they have latents:
    /// [`Model::latents`]).
    pub fn rw(&self) -> Option<&Model<RescorlaWagner, Softmax>> {
        match &self.kind {
            Kind::Rw { model, .. } => Some(model),
            Kind::Task { .. } => None,
        }
    }

    /// The task the model simulates when it is not the bandit of its [`Table`] (the task's
    /// name and reference, for messages: "the two-step task (Daw et al. 2011)").
    pub fn own_task_name(&self) -> Option<&'static str> {
        match &self.kind {
            Kind::Rw { .. } => None,
            Kind::Task { task, .. } => *task,
        }
    }

    /// The model simulating one session of `n_trials` trials per subject, on the bandit of
    /// its [`Table`] or on its own task.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `n_trials` = 0, or for a Rescorla-Wagner model built
    /// without a bandit (`rw-kernel` built without one plays its own default bandit,
    /// [`RwChoiceKernel::new`]).
    pub fn simulator(self, n_trials: usize) -> Result<Box<dyn Simulate>> {
        let name = self.name;
        let no_bandit = || {
            Error::invalid_option(
                "table.bandit",
                "None",
                format!("model {name} simulates on the bandit of its table: build it with one"),
            )
        };
        match self.kind {
            Kind::Rw { model, bandit } => {
                let bandit = bandit.ok_or_else(no_bandit)?;
                let env = move |_| Ok::<_, Error>(bandit.clone());
                Ok(Box::new(Simulator::new(model, env, n_trials)?))
            }
            Kind::Task { model, .. } => model.simulator(n_trials),
        }
    }
}
