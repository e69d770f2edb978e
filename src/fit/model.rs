//! [`FitModel`]: what fitting needs of a model — named parameters and a likelihood per
//! subject — as an object-safe trait, so that lists of different models (`&dyn FitModel`)
//! can be fitted and compared on one data set.

use std::any::Any;

use crate::cohort::{Cohort, RwSoftmaxCohort, TermCohort};
use crate::data::Subject;
use crate::error::Result;
use crate::learning::{LearningRule, RescorlaWagner};
use crate::observation::{Observation, Softmax};
use crate::params::ParamLayout;
use crate::task::{TaskLikelihood, TaskModel};
use crate::{Model, Term};

/// A model that can be fitted to subjects: a layout of named parameters θ and, per subject,
/// the log-likelihood of its choices as a [`Term`] over θ.
///
/// [`Model`] implements it; so can any model whose likelihood is a term (a hierarchical
/// wrapper, a model written by hand). The trait is object-safe: [`compare`](super::compare)
/// takes `&[(&str, &dyn FitModel)]`.
///
/// ```
/// use rlgrad::fit::FitModel;
/// use rlgrad::prelude::*;
/// let single = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let dual = Model::new(RescorlaWagner::dual(), Softmax::new(), 1, 2)?;
/// let models: [&dyn FitModel; 2] = [&single, &dual];
/// assert_eq!(models.iter().map(|m| m.n_params()).collect::<Vec<_>>(), [2, 3]);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub trait FitModel: Send + Sync {
    /// The named parameters θ and their transforms.
    fn layout(&self) -> &ParamLayout;

    /// The number of parameters K.
    fn n_params(&self) -> usize {
        self.layout().len()
    }

    /// The log-likelihood of `subject`'s choices, a term over θ (exact gradient and, where the
    /// model gives it, exact Hessian).
    ///
    /// # Errors
    /// A subject the model cannot explain (an action or state outside its table).
    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>>;

    /// The log-likelihoods of `subjects` as one [`Cohort`], for evaluating all of them at
    /// once (hierarchical posteriors, sampling). The default is a [`TermCohort`] of
    /// [`likelihood`](FitModel::likelihood)s; a model with a faster path overrides it.
    ///
    /// # Errors
    /// As [`likelihood`](FitModel::likelihood), for the first subject the model cannot
    /// explain; [`Error::EmptyData`](crate::Error::EmptyData) for no subjects.
    fn cohort<'a>(&'a self, subjects: &'a [Subject]) -> Result<Box<dyn Cohort + 'a>> {
        term_cohort(self, subjects)
    }
}

/// The default cohort: a [`TermCohort`] of `model`'s likelihoods of `subjects`.
fn term_cohort<'a, M: FitModel + ?Sized>(
    model: &'a M,
    subjects: &'a [Subject],
) -> Result<Box<dyn Cohort + 'a>> {
    let terms = subjects
        .iter()
        .map(|s| model.likelihood(s))
        .collect::<Result<Vec<_>>>()?;
    Ok(Box::new(TermCohort::new(terms, model.n_params())?))
}

impl<L: LearningRule + 'static, O: Observation + 'static> FitModel for Model<L, O> {
    fn layout(&self) -> &ParamLayout {
        Model::layout(self)
    }

    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>> {
        Ok(Box::new(Model::likelihood(self, subject)?))
    }

    /// Rescorla–Wagner + softmax in the configuration [`RwSoftmaxCohort`] covers gets it
    /// (eight subjects per SIMD instruction); every other model the default
    /// [`TermCohort`].
    fn cohort<'a>(&'a self, subjects: &'a [Subject]) -> Result<Box<dyn Cohort + 'a>> {
        let any: &dyn Any = self;
        match any.downcast_ref::<Model<RescorlaWagner, Softmax>>() {
            Some(rw) if RwSoftmaxCohort::supports(rw) => {
                Ok(Box::new(RwSoftmaxCohort::new(rw, subjects)?))
            }
            _ => term_cohort(self, subjects),
        }
    }
}

impl<M: TaskModel> FitModel for M {
    fn layout(&self) -> &ParamLayout {
        TaskModel::layout(self)
    }

    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>> {
        Ok(Box::new(TaskLikelihood::new(self, subject)?))
    }
}

/// Checks that `model` can explain every subject of `data` (its states and actions within
/// the model's table, a task model's layout), before any fitting: the first subject it
/// cannot is the error, naming the subject, session and trial. A fit reports such a subject
/// as failed; a program that would rather refuse the data up front calls this.
///
/// ```
/// use rlgrad::fit::check_explains;
/// use rlgrad::prelude::*;
/// let one_state = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let session = Session::new("1", vec![0, 1], vec![0, 1], vec![1.0, 0.0])?;
/// let data = Dataset::new(vec![Subject::new("s1", vec![session])?])?;
/// let err = check_explains(&one_state, &data).unwrap_err();
/// assert!(err.to_string().contains("subject `s1`"));
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// The model's error for the first subject it cannot explain
/// ([`Error::InvalidTrial`](crate::Error::InvalidTrial) for a state or action outside its
/// table).
pub fn check_explains<M: FitModel + ?Sized>(
    model: &M,
    data: &crate::data::Dataset,
) -> crate::Result<()> {
    for subject in data.subjects() {
        model.likelihood(subject)?;
    }
    Ok(())
}
