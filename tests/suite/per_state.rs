//! The softmax with one inverse temperature per group of states (`Softmax::per_state`): its
//! derivatives against finite differences over random groups, data and θ; its construction
//! errors; and equality with the plain softmax when every state is in one group.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rlgrad::Error;
use rlgrad::learning::order;
use rlgrad::observation::{Choice, ObsBuffers, Observation};
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

use crate::common::models::subject;

/// `n_states` groups numbered 0..n_groups, every group used: a random permutation puts
/// groups 0, 1, …, G − 1 on G distinct states, the other states get random groups.
fn groups(n_states: usize, n_groups: usize) -> impl Strategy<Value = Vec<usize>> {
    (
        Just((0..n_states).collect::<Vec<_>>()).prop_shuffle(),
        proptest::collection::vec(0..n_groups, n_states),
    )
        .prop_map(move |(perm, mut g)| {
            for (i, &s) in perm.iter().take(n_groups).enumerate() {
                g[s] = i;
            }
            g
        })
}

/// (groups, n_actions, perseveration, subject, θ) with 1–4 states, 1–3 groups, 2 or 3 actions.
pub(crate) fn case() -> impl Strategy<Value = (Vec<usize>, usize, bool, Subject, Array1<f64>)> {
    (1usize..=4, 2usize..=3, any::<bool>())
        .prop_flat_map(|(s, a, persev)| {
            (1..=s.min(3)).prop_flat_map(move |g| {
                let k = 1 + g + usize::from(persev);
                (
                    groups(s, g),
                    Just(a),
                    Just(persev),
                    subject(s, a, 60, false),
                    proptest::collection::vec(-1.0..2.5f64, k),
                )
            })
        })
        .prop_map(|(groups, a, persev, subject, mut theta)| {
            // Drawn in [−1, 2.5], the range of the log β's (β up to 12); θ_α is moved to
            // [−2.5, 2.5] and κ to [−2, 2].
            let onto = |x: f64, lo: f64, hi: f64| lo + (x + 1.0) / 3.5 * (hi - lo);
            theta[0] = onto(theta[0], -2.5, 2.5);
            if persev {
                let last = theta.len() - 1;
                theta[last] = onto(theta[last], -2.0, 2.0);
            }
            (groups, a, persev, subject, Array1::from(theta))
        })
}

pub(crate) fn model(
    groups: &[usize],
    n_actions: usize,
    persev: bool,
) -> Model<RescorlaWagner, Softmax> {
    let obs = if persev {
        Softmax::per_state_with_perseveration(groups)
    } else {
        Softmax::per_state(groups)
    }
    .unwrap();
    Model::new(RescorlaWagner::new(), obs, groups.len(), n_actions).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Gradient and Hessian of RW + per-state softmax against finite differences, and the
    /// Term contract.
    #[test]
    fn per_state_softmax_derivatives_match_finite_differences(
        (groups, a, persev, subject, theta) in case()
    ) {
        let model = model(&groups, a, persev);
        let lik = model.likelihood(&subject).unwrap();
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "groups {:?}, {} actions, kappa {}: {}", groups, a,
            persev, report);
    }

    /// With every state in one group the per-state softmax is the plain one, to the bit:
    /// value, gradient and Hessian.
    #[test]
    fn one_group_is_the_plain_softmax(
        (groups, a, persev, subject, theta) in case()
    ) {
        let n_states = groups.len();
        let one = vec![0; n_states];
        let grouped = model(&one, a, persev);
        let obs = if persev { Softmax::with_perseveration() } else { Softmax::new() };
        let plain = Model::new(RescorlaWagner::new(), obs, n_states, a).unwrap();
        // θ for one group: α, β, (κ).
        let mut t = vec![theta[0], theta[1]];
        if persev {
            t.push(theta[theta.len() - 1]);
        }
        let t = Array1::from(t);
        let k = t.len();
        let run = |m: &Model<RescorlaWagner, Softmax>| {
            let lik = m.likelihood(&subject).unwrap();
            let (mut g, mut h) = (Array1::zeros(k), Array2::zeros((k, k)));
            let v = lik.value_grad_hessian(t.view(), g.view_mut(), h.view_mut()).unwrap();
            (v, g, h)
        };
        prop_assert_eq!(run(&grouped), run(&plain));
    }

    /// Each trial's probabilities are those of the plain softmax at its group's β (and
    /// exp of its log-probability).
    #[test]
    fn probabilities_use_the_states_beta(
        betas in proptest::collection::vec(-3.0..3.0f64, 3),
        kappa in -2.0..2.0f64,
        q in proptest::collection::vec(-2.0..2.0f64, 3),
        state in 0usize..4,
        previous in proptest::option::of(0usize..3),
        action in 0usize..3,
    ) {
        let groups = [0, 1, 2, 1];
        let sm = Softmax::per_state_with_perseveration(&groups).unwrap();
        let psi = [betas[0], betas[1], betas[2], kappa];
        let choice = Choice { action, state, previous };
        let mut p = [0.0; 3];
        sm.probabilities(&psi, &q, choice.context(), &mut p);
        let mut want = [0.0; 3];
        Softmax::with_perseveration().probabilities(
            &[betas[groups[state]], kappa], &q, choice.context(), &mut want);
        prop_assert_eq!(p, want);
        let mut buffers = ObsBuffers::new(3, 4).unwrap();
        let lp = sm.log_prob::<{ order::HESSIAN }>(&psi, &q, choice, &mut buffers.derivs());
        prop_assert!((lp.value() - p[action].ln()).abs() <= 1e-12 * (1.0 + p[action].ln().abs()));
        // The other groups' β's have zero derivatives on this trial.
        for g in 0..3 {
            if g != groups[state] {
                prop_assert_eq!(buffers.dpsi[g], 0.0);
                prop_assert_eq!(buffers.hpp[g * 4 + g], 0.0);
            }
        }
    }
}

/// The two-step layout: β₁ at stage 1, β₂ at stage 2, named in order, and κ after them.
#[test]
fn parameters_are_named_by_group() {
    let model = Model::new(
        RescorlaWagner::new(),
        Softmax::per_state_with_perseveration(&[0, 1, 1]).unwrap(),
        3,
        2,
    )
    .unwrap();
    let names: Vec<&str> = model.layout().names().collect();
    assert_eq!(names, ["alpha", "beta_1", "beta_2", "kappa"]);
    // A non-finite β is named by its group.
    let err = model
        .observation()
        .check_params(&[1.0, f64::NAN, 0.0])
        .unwrap_err();
    assert!(err.to_string().contains("`beta_2`"), "{err}");
}

/// Groups that cannot be fitted, and groups that do not fit the model's states, are refused
/// with the option named.
#[test]
fn bad_groups_are_refused() {
    let msg = |e: Error| e.to_string();
    let e = msg(Softmax::per_state(&[]).unwrap_err());
    assert!(
        e.contains("`groups`") && e.contains("one entry per state"),
        "{e}"
    );
    let e = msg(Softmax::per_state(&[0, 2, 2]).unwrap_err());
    assert!(
        e.contains("group 1 is used by no state") && e.contains("beta_2"),
        "{e}"
    );
    let e = msg(Softmax::per_state_with_perseveration(&[0, 5]).unwrap_err());
    assert!(
        e.contains("`groups[1]` = 5") && e.contains("below the number of states, 2"),
        "{e}"
    );
    assert!(Softmax::per_state(&[usize::MAX]).is_err());
    // Fewer (or more) entries than the model's states.
    let obs = Softmax::per_state(&[0, 1]).unwrap();
    let e = msg(Model::new(RescorlaWagner::new(), obs.clone(), 3, 2).unwrap_err());
    assert!(
        e.contains("has 2 entries, one per state, but the model has 3 states"),
        "{e}"
    );
    assert!(Model::new(RescorlaWagner::new(), obs.clone(), 1, 2).is_err());
    assert!(Model::new(RescorlaWagner::new(), obs, 2, 2).is_ok());
    // Long lists are shortened in the message.
    let mut long = vec![0; 40];
    long[39] = 2;
    let e = msg(Softmax::per_state(&long).unwrap_err());
    assert!(e.contains("(40 states)"), "{e}");
}

/// Separate temperatures change the fit: a subject who is deterministic in state 0 and
/// random in state 1 has a higher likelihood with β₁ high and β₂ low than with one β.
#[test]
fn separate_temperatures_matter() {
    let states = vec![0, 1, 0, 1, 0, 1, 0, 1];
    let actions = vec![0, 1, 0, 0, 0, 1, 0, 0];
    let rewards = vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let session = Session::new("1", states, actions, rewards).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let grouped = model(&[0, 1], 2, false);
    let lik = grouped.likelihood(&subject).unwrap();
    let two = lik.value(ndarray::arr1(&[0.0, 2.0, -2.0]).view()).unwrap();
    let one_high = lik.value(ndarray::arr1(&[0.0, 2.0, 2.0]).view()).unwrap();
    let one_low = lik.value(ndarray::arr1(&[0.0, -2.0, -2.0]).view()).unwrap();
    assert!(
        two > one_high && two > one_low,
        "{two} {one_high} {one_low}"
    );
}

/// The latents and the simulation read each trial's state: the latents' probabilities are
/// the plain softmax's at the state's β, their log-likelihood is the likelihood's, and a
/// simulated two-state session is a valid session of the model.
#[test]
fn latents_and_simulation_use_the_states_beta() {
    let model = model(&[0, 1], 2, true);
    let session = Session::new(
        "1",
        vec![0, 1, 1, 0, 1, 0],
        vec![0, 1, rlgrad::data::MISSED, 0, 0, 1],
        vec![1.0, 0.0, 1.0, 0.5, 1.0, 0.0],
    )
    .unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let theta = ndarray::arr1(&[0.2, 1.5, -0.5, 0.4]);
    let lat = model.latents(theta.view(), &subject).unwrap();
    let ll = model
        .likelihood(&subject)
        .unwrap()
        .value(theta.view())
        .unwrap();
    assert!((lat.log_likelihood() - ll).abs() <= 1e-12 * ll.abs());
    let psi = model.natural(theta.view()).unwrap();
    let betas = [psi.values()[1], psi.values()[2]];
    let mut previous = None;
    for i in 0..lat.len() {
        if lat.is_missed(i) {
            continue;
        }
        let s = lat.states()[i] as usize;
        let mut want = [0.0; 2];
        let context = rlgrad::observation::Context { state: s, previous };
        Softmax::with_perseveration().probabilities(
            &[betas[s], psi.values()[3]],
            &lat.values().row(i).to_vec(),
            context,
            &mut want,
        );
        assert_eq!(lat.probabilities().row(i).to_vec(), want);
        previous = Some(lat.actions()[i] as usize);
    }

    struct TwoStates;
    impl Environment for TwoStates {
        fn n_states(&self) -> usize {
            2
        }
        fn n_actions(&self) -> usize {
            2
        }
        fn reset<R: rand::Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
            rng.random_range(0..2)
        }
        fn step<R: rand::Rng + ?Sized>(
            &mut self,
            action: usize,
            _: &mut R,
        ) -> rlgrad::Result<rlgrad::env::Outcome> {
            Ok(rlgrad::env::Outcome {
                reward: action as f64,
                next_state: None,
            })
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let s = model
        .simulate(theta.view(), &mut TwoStates, 200, "sim", &mut rng)
        .unwrap();
    assert!(s.states().contains(&0) && s.states().contains(&1));
    let simulated = Subject::new("sim", vec![s]).unwrap();
    assert!(
        model
            .likelihood(&simulated)
            .unwrap()
            .value(theta.view())
            .is_ok()
    );
}
