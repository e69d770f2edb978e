//! Forward-mode differentiation (`rlgrad::ad`) and the task-model likelihood
//! (`rlgrad::task::TaskLikelihood`): every scalar operation and kernel, composed in a
//! synthetic task model, against finite differences through the shared checker.

use ndarray::Array1;
use proptest::prelude::*;
use rand::Rng;
use rlgrad::ad::{LogLik, Scalar, max};
use rlgrad::data::{Session, Subject};
use rlgrad::params::{ParamLayout, ParamSpec, Transform};
use rlgrad::task::pieces::{choice_kernel_update, lapse, ln_lapse_logistic};
use rlgrad::task::{TaskLikelihood, TaskModel};
use rlgrad::testing::{CheckOptions, check_term};

/// A synthetic model that uses every operation of `Scalar` and every piece: three options,
/// values learned with a rate, logits with exp/ln/sqrt/division/maximum, a choice kernel,
/// log-softmax, ln σ and the lapse.
struct Synthetic {
    layout: ParamLayout,
}

impl Synthetic {
    fn new() -> Self {
        let specs = vec![
            ParamSpec::new("alpha", Transform::logistic(0.0, 1.0).unwrap()),
            ParamSpec::new("beta", Transform::Exp),
            ParamSpec::new("c", Transform::Identity),
            ParamSpec::new("eps", Transform::logistic(0.0, 1.0).unwrap()),
            ParamSpec::new("alpha_c", Transform::logistic(0.0, 1.0).unwrap()),
        ];
        Synthetic {
            layout: ParamLayout::new(specs).unwrap(),
        }
    }
}

impl TaskModel for Synthetic {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }
    fn check_subject(&self, _subject: &Subject) -> rlgrad::Result<()> {
        Ok(())
    }
    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let (alpha, beta, c, eps, alpha_c) = (psi[0], psi[1], psi[2], psi[3], psi[4]);
        let mut q = [T::constant(0.0); 3];
        let mut ck = [T::constant(0.0); 3];
        let mut ll = LogLik::new();
        for (&a, &r) in session.actions().iter().zip(session.rewards()) {
            let a = a as usize;
            // Logits mixing the operations: β·q, a smooth bonus, a maximum, a quotient.
            let best = max(max(q[0], q[1]), q[2]);
            let z: [T; 3] = std::array::from_fn(|j| {
                q[j] * beta
                    + ck[j] * c
                    + (q[j] - best).exp() * 0.1
                    + (q[j].square() + 1.0).sqrt() / (beta + 1.0)
                    + ((q[j] + 2.0).ln() * c).logistic()
            });
            ll.add_ln_softmax(&z, a);
            // A binary sub-choice with a lapse, and ln σ of a difference.
            ll.add(ln_lapse_logistic(z[0] - z[1], eps, a % 2));
            ll.add_ln_sigmoid(z[a] - z[(a + 1) % 3]);
            ll.add(lapse((z[2] - z[0]).logistic(), eps, 3).ln());
            q[a] += (-q[a] + r) * alpha;
            choice_kernel_update(&mut ck, a, alpha_c);
        }
        ll.total()
    }
    fn simulate_session<R: Rng + ?Sized>(
        &self,
        _psi: &[f64],
        _n_trials: usize,
        _session_id: &str,
        _rng: &mut R,
    ) -> rlgrad::Result<Session> {
        Err(rlgrad::Error::invalid_option(
            "simulate",
            "synthetic",
            "the synthetic test model has no task to simulate",
        ))
    }
}

fn subject(actions: Vec<u32>, rewards: Vec<f64>) -> Subject {
    Subject::new("s", vec![Session::bandit("1", actions, rewards).unwrap()]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn synthetic_task_derivatives_match_finite_differences(
        theta in proptest::collection::vec(-2.0..2.0f64, 5),
        trials in proptest::collection::vec((0u32..3, -1.0..1.0f64), 1..40),
    ) {
        let model = Synthetic::new();
        let (actions, rewards) = trials.into_iter().unzip();
        let subject = subject(actions, rewards);
        let lik = TaskLikelihood::new(&model, &subject).unwrap();
        let theta = Array1::from(theta);
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{report}");
    }
}

#[test]
fn hessian_of_products_and_quotients_is_exact() {
    use rlgrad::ad::Hess;
    let x = Hess::<2>::variable(1.5, 0);
    let y = Hess::<2>::variable(-0.5, 1);
    // f = x²y / (x + y²): compare with the closed form at (1.5, −0.5).
    let f = x * x * y / (x + y * y);
    let (xv, yv) = (1.5f64, -0.5f64);
    let d = xv + yv * yv;
    let fx = (2.0 * xv * yv * d - xv * xv * yv) / (d * d);
    assert!((f.g[0] - fx).abs() < 1e-14);
    assert!((f.h[0][1] - f.h[1][0]).abs() < 1e-14);
    // The closed-form second derivatives of f = N/D, N = x²y, D = x + y², at (1.5, −0.5):
    let (n, nx, ny, nxx, nxy, nyy) = (
        xv * xv * yv,
        2.0 * xv * yv,
        xv * xv,
        2.0 * yv,
        2.0 * xv,
        0.0,
    );
    let (dx, dy, dxx, dxy, dyy) = (1.0, 2.0 * yv, 0.0, 0.0, 2.0);
    // f_ij = N_ij/D − (N_i D_j + N_j D_i)/D² − N D_ij/D² + 2 N D_i D_j/D³.
    let second = |nij: f64, ni: f64, nj: f64, di: f64, dj: f64, dij: f64| {
        nij / d - (ni * dj + nj * di) / (d * d) - n * dij / (d * d)
            + 2.0 * n * di * dj / (d * d * d)
    };
    let want = [
        [
            second(nxx, nx, nx, dx, dx, dxx),
            second(nxy, nx, ny, dx, dy, dxy),
        ],
        [
            second(nxy, ny, nx, dy, dx, dxy),
            second(nyy, ny, ny, dy, dy, dyy),
        ],
    ];
    for (i, row) in want.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            assert!(
                (f.h[i][j] - w).abs() < 1e-13,
                "h[{i}][{j}]: {} vs {w}",
                f.h[i][j]
            );
        }
    }
}
