//! Named parameters, and the transforms between unconstrained θ and natural ψ.
//!
//! Optimisers and Gaussian priors work on an unconstrained vector θ ∈ ℝᴷ. Components (learning
//! rules, observation models) work on natural parameters ψ (a learning rate in (0, 1), an
//! inverse temperature > 0, …). Each entry has a [`Transform`] gₖ with ψₖ = gₖ(θₖ), and the
//! chain rule through it is
//!
//! ```text
//! ∂f/∂θₖ       = g′ₖ ∂f/∂ψₖ
//! ∂²f/∂θₖ∂θₗ   = g′ₖ g′ₗ ∂²f/∂ψₖ∂ψₗ + 1[k = l] g″ₖ ∂f/∂ψₖ
//! ```
//!
//! The second term (curvature of the transform) is what makes a Hessian exact away from a
//! stationary point.
//!
//! ```
//! use rlgrad::params::{ParamLayout, ParamSpec, Transform};
//! let layout = ParamLayout::new(vec![
//!     ParamSpec::new("alpha", Transform::unit()),
//!     ParamSpec::new("beta", Transform::Exp),
//! ])?;
//! let theta = layout.theta_from_natural(&[("alpha", 0.3), ("beta", 5.0)])?;
//! let named = layout.natural(theta.view())?;
//! assert!((named.get("alpha").unwrap() - 0.3).abs() < 1e-12);
//! assert!((named.get("beta").unwrap() - 5.0).abs() < 1e-12);
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod layout;
mod named;
mod transform;

pub use self::layout::{ParamLayout, ParamSpec};
pub use self::named::NamedParams;
pub use self::transform::Transform;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use approx::assert_relative_eq;

    fn all_transforms() -> Vec<Transform> {
        vec![
            Transform::Identity,
            Transform::unit(),
            Transform::logistic(-2.0, 30.0).unwrap(),
            Transform::Exp,
            Transform::Softplus,
        ]
    }

    #[test]
    fn derivatives_match_central_differences() {
        for t in all_transforms() {
            for &x in &[-4.0, -0.7, 0.0, 0.3, 2.5] {
                let h = 1e-5;
                let (_, d1, d2) = t.derivatives(x);
                let fd1 = (t.apply(x + h) - t.apply(x - h)) / (2.0 * h);
                let fd2 = (t.derivatives(x + h).1 - t.derivatives(x - h).1) / (2.0 * h);
                assert_relative_eq!(d1, fd1, epsilon = 1e-8, max_relative = 1e-7);
                assert_relative_eq!(d2, fd2, epsilon = 1e-8, max_relative = 1e-7);
            }
        }
    }

    /// Near the upper end 1 − σ(θ) cancels; the derivatives must not. At θ = 30,
    /// g′ = e^(−θ)/(1 + e^(−θ))² = e^(−θ)(1 − 2e^(−θ) + …) and g″ = g′·(1 − 2σ(θ)) =
    /// −g′·(1 − 2e^(−θ) + …) to double precision.
    #[test]
    fn logistic_derivatives_are_accurate_near_the_upper_end() {
        for theta in [30.0f64, 36.0, -30.0] {
            let e = (-theta.abs()).exp();
            let want1 = e * (1.0 - 2.0 * e);
            let want2 = -theta.signum() * want1 * (1.0 - 2.0 * e);
            let (v, d1, d2) = Transform::unit().derivatives(theta);
            assert!(
                (d1 - want1).abs() <= 1e-15 * want1,
                "g′({theta}) = {d1}, want {want1}"
            );
            assert!(
                (d2 - want2).abs() <= 1e-15 * want1,
                "g″({theta}) = {d2}, want {want2}"
            );
            assert!((0.0..=1.0).contains(&v));
        }
        let (v, _, _): (f64, f64, f64) = Transform::unit().derivatives(27.631021115928547);
        // ψ = 1 − 1e-12 to the nearest double (spacing 1.1e-16 there).
        assert!(
            (1.0 - v - 1e-12).abs() <= f64::EPSILON / 2.0,
            "1 − ψ = {}",
            1.0 - v
        );
    }

    #[test]
    fn inverse_round_trips() {
        for t in all_transforms() {
            for &x in &[-3.0, -0.5, 0.0, 1.0, 3.0] {
                let psi = t.apply(x);
                assert_relative_eq!(t.inverse("p", psi).unwrap(), x, epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn bad_transforms_and_layouts_are_errors() {
        assert!(matches!(
            Transform::logistic(2.0, 1.0),
            Err(Error::InvalidTransform { .. })
        ));
        assert!(Transform::logistic(f64::NAN, 1.0).is_err());
        assert!(Transform::logistic(0.0, f64::INFINITY).is_err());
        let dup = ParamLayout::new(vec![
            ParamSpec::new("a", Transform::Identity),
            ParamSpec::new("a", Transform::Exp),
        ]);
        assert!(matches!(dup, Err(Error::InvalidLayout { .. })));
        let bad = ParamLayout::new(vec![ParamSpec::new(
            "a",
            Transform::Logistic { lo: 1.0, hi: 0.0 },
        )]);
        assert!(matches!(bad, Err(Error::InvalidTransform { .. })));
    }

    #[test]
    fn theta_checks_name_the_entry() {
        let layout = ParamLayout::new(vec![
            ParamSpec::new("alpha", Transform::unit()),
            ParamSpec::new("beta", Transform::Exp),
        ])
        .unwrap();
        let err = layout
            .check_theta(ndarray::arr1(&[0.0, f64::NAN]).view())
            .unwrap_err();
        assert!(err.to_string().contains("theta[1] (beta)"), "{err}");
        assert!(layout.check_theta(ndarray::arr1(&[0.0]).view()).is_err());
        assert!(layout.theta_from_natural(&[("alpha", 0.5)]).is_err());
        assert!(
            layout
                .theta_from_natural(&[("alpha", 1.5), ("beta", 1.0)])
                .is_err()
        );
    }
}
