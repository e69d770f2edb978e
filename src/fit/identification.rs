//! Per-parameter identification of a fit: [`Identification`].

use ndarray::ArrayView1;
use serde::Serialize;

use crate::params::{ParamLayout, Transform};

/// How much the data informed one parameter of a fit: whether the data informed it, or the
/// prior alone decided it.
///
/// A subject whose choices carry no information about a parameter (one who always chooses the
/// same arm and is always rewarded, say, about the learning rate) still gets a MAP estimate:
/// the prior's, moved a little. Its Laplace standard error is then about the prior's, and on
/// the natural scale the 95% interval covers most of the parameter's range. Nothing in the
/// estimate itself says so, and the optimiser converges as usual; so each fit reports, per
/// parameter, two measures and a flag:
///
/// ```text
/// variance_ratio  = Var_posterior(θₖ) / Var_prior(θₖ)              (Laplace over the prior's marginal)
/// range_covered   = |g(θ̂ₖ + 1.96 SEₖ) − g(θ̂ₖ − 1.96 SEₖ)| / (hi − lo)   (bounded transforms only)
/// weak            = variance_ratio ≥ MapOptions::weak_variance_ratio
///                   or range_covered ≥ MapOptions::weak_range_fraction
/// ```
///
/// With the defaults (both ½): the data less than halved the prior's variance, or the 95%
/// interval of a bounded parameter covers half its range or more. A weak parameter's estimate
/// says more about the prior than about the subject: report it as such, fix it at a group
/// value, or fit the cohort hierarchically.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identification {
    /// The parameter.
    pub name: String,
    /// Var(θₖ) under the Laplace posterior over Var(θₖ) under the prior; `None` when the prior
    /// gives no marginal variance.
    pub variance_ratio: Option<f64>,
    /// The fraction of the parameter's natural range that its 95% interval covers; `None` for
    /// an unbounded range.
    pub range_covered: Option<f64>,
    /// Whether either measure reaches its threshold.
    pub weak: bool,
}

/// The identification of every parameter at θ̂ with standard errors `theta_se` on θ, given
/// the prior's marginal standard deviations (when the prior has them) and the thresholds.
pub(crate) fn identify(
    layout: &ParamLayout,
    theta: ArrayView1<f64>,
    theta_se: ArrayView1<f64>,
    prior_sd: Option<ArrayView1<f64>>,
    weak_variance_ratio: f64,
    weak_range_fraction: f64,
) -> Vec<Identification> {
    layout
        .specs()
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            let se = theta_se[k];
            let variance_ratio = prior_sd.map(|sd| (se / sd[k]).powi(2));
            let range_covered = match spec.transform {
                Transform::Logistic { lo, hi } => {
                    let t = spec.transform;
                    let (a, b) = (t.apply(theta[k] - 1.96 * se), t.apply(theta[k] + 1.96 * se));
                    Some(((b - a) / (hi - lo)).clamp(0.0, 1.0))
                }
                Transform::Identity | Transform::Exp | Transform::Softplus => None,
            };
            let weak = variance_ratio.is_some_and(|r| r >= weak_variance_ratio)
                || range_covered.is_some_and(|c| c >= weak_range_fraction);
            Identification {
                name: spec.name.clone(),
                variance_ratio,
                range_covered,
                weak,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSpec;
    use ndarray::arr1;

    #[test]
    fn flags_follow_the_two_measures() {
        let layout = ParamLayout::new(vec![
            ParamSpec::new("alpha", Transform::unit()),
            ParamSpec::new("beta", Transform::Exp),
        ])
        .unwrap();
        // alpha: SE 3 on logit scale against a prior sd of 1.5 (ratio 4, interval ≈ whole
        // range); beta: SE 0.1 against 1 (ratio 0.01, unbounded).
        let ids = identify(
            &layout,
            arr1(&[0.0, 1.0]).view(),
            arr1(&[3.0, 0.1]).view(),
            Some(arr1(&[1.5, 1.0]).view()),
            0.5,
            0.5,
        );
        assert!(ids[0].weak && (ids[0].variance_ratio.unwrap() - 4.0).abs() < 1e-12);
        assert!(ids[0].range_covered.unwrap() > 0.99);
        assert!(!ids[1].weak && ids[1].range_covered.is_none());
        // Without a prior variance, only the range can flag; a narrow interval does not.
        let ids = identify(
            &layout,
            arr1(&[0.0, 1.0]).view(),
            arr1(&[0.2, 5.0]).view(),
            None,
            0.5,
            0.5,
        );
        assert!(!ids[0].weak && ids[0].range_covered.unwrap() < 0.2);
        assert!(!ids[1].weak && ids[1].variance_ratio.is_none());
    }
}
