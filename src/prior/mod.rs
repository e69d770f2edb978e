//! Priors on θ: the [`Prior`] trait and the multivariate Gaussian [`MvGaussian`].
//!
//! A prior is a [`Term`] (its value is the log density of θ), plus what a fitting routine
//! needs: a mean to start from and draws for further starts.

mod gaussian;

pub use self::gaussian::MvGaussian;

use ndarray::Array1;
use rand::Rng;

use crate::Term;

/// A proper prior density on θ.
pub trait Prior: Term {
    /// The prior mean (the first start of a MAP fit).
    fn mean(&self) -> Array1<f64>;

    /// One draw θ ~ p(θ).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64>
    where
        Self: Sized;

    /// The marginal standard deviation of each entry of θ, if the prior has one (a fit compares
    /// its posterior with it to flag weakly identified parameters). `None` by default.
    fn marginal_sd(&self) -> Option<Array1<f64>> {
        None
    }
}
