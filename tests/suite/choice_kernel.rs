//! RW with a choice kernel (`rlgrad::task::RwChoiceKernel`): derivatives of every variant
//! against finite differences, equality with `Model<RescorlaWagner, Softmax>` when the kernel
//! has no weight, bad data, simulation and recovery of the kernel's weight.

use ndarray::Array1;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::data::{MISSED, Session, Subject};
use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
use rlgrad::prelude::*;
use rlgrad::task::RwChoiceKernel;
use rlgrad::testing::{CheckOptions, check_term};

fn variant(dual: bool, lapse: bool, n_states: usize, n_actions: usize) -> RwChoiceKernel {
    let mut m = RwChoiceKernel::new(n_states, n_actions).unwrap();
    if dual {
        m = m.dual().unwrap();
    }
    if lapse {
        m = m.with_lapse().unwrap();
    }
    m
}

fn session_strategy(
    n_states: usize,
    n_actions: usize,
) -> impl Strategy<Value = (Vec<u32>, Vec<u32>, Vec<f64>)> {
    proptest::collection::vec(
        (
            0..n_states as u32,
            prop_oneof![9 => 0..n_actions as u32, 1 => Just(MISSED)],
            -1.0..1.0f64,
        ),
        1..40,
    )
    .prop_map(|t| {
        let (mut s, mut a, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for (x, y, z) in t {
            s.push(x);
            a.push(y);
            r.push(z);
        }
        (s, a, r)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every variant (single/dual rate, with/without lapse, 1–2 states, 2–4 actions), on
    /// sessions with missed trials, against finite differences.
    #[test]
    fn derivatives_of_every_variant(
        dual in any::<bool>(),
        lapse in any::<bool>(),
        shape in (1usize..3, 2usize..5),
        data in (1usize..3, 2usize..5).prop_flat_map(|(s, a)| session_strategy(s, a)),
        theta in proptest::collection::vec(-2.5..2.5f64, 6),
    ) {
        let (n_states, n_actions) = shape;
        // Keep the data inside the table.
        let (states, actions, rewards) = data;
        let states: Vec<u32> = states.iter().map(|&s| s % n_states as u32).collect();
        let actions: Vec<u32> = actions
            .iter()
            .map(|&a| if a == MISSED { a } else { a % n_actions as u32 })
            .collect();
        let model = variant(dual, lapse, n_states, n_actions);
        prop_assume!(actions.iter().any(|&a| a != MISSED)); // a subject makes a choice
        let session = Session::new("1", states, actions, rewards).unwrap();
        let subject = Subject::new("s", vec![session]).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let theta = Array1::from(theta[..model.layout().len()].to_vec());
        let report = check_term(&*lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{report}");
    }
}

/// With β_c = 0 the kernel has no effect: the likelihood, gradient and Hessian of α and β are
/// those of RW + softmax (the crate's hand-written path), to 1e-12.
#[test]
fn without_weight_it_is_rw_softmax() {
    let rw = Model::new(RescorlaWagner::new(), Softmax::new(), 2, 3).unwrap();
    let ck = RwChoiceKernel::new(2, 3).unwrap();
    let session = Session::new(
        "1",
        vec![0, 1, 0, 0, 1, 1, 0],
        vec![2, 0, 1, 2, 2, 0, 0],
        vec![1.0, 0.0, -0.5, 1.0, 0.3, 1.0, 0.0],
    )
    .unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let (a, b) = (-0.3, 1.1);
    let t_rw = Array1::from(vec![a, b]);
    let t_ck = Array1::from(vec![a, b, 0.4, 0.0]);
    let l_rw = rw.likelihood(&subject).unwrap();
    let l_ck = FitModel::likelihood(&ck, &subject).unwrap();
    let (mut g1, mut h1) = (Array1::zeros(2), ndarray::Array2::zeros((2, 2)));
    let (mut g2, mut h2) = (Array1::zeros(4), ndarray::Array2::zeros((4, 4)));
    let v1 = l_rw
        .value_grad_hessian(t_rw.view(), g1.view_mut(), h1.view_mut())
        .unwrap();
    let v2 = l_ck
        .value_grad_hessian(t_ck.view(), g2.view_mut(), h2.view_mut())
        .unwrap();
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + x.abs());
    assert!(close(v1, v2), "{v1} vs {v2}");
    for i in 0..2 {
        assert!(close(g1[i], g2[i]), "gradient {i}: {} vs {}", g1[i], g2[i]);
        for j in 0..2 {
            assert!(close(h1[[i, j]], h2[[i, j]]), "hessian {i},{j}");
        }
    }
}

#[test]
fn bad_data_and_options_are_errors() {
    let model = RwChoiceKernel::new(1, 2).unwrap();
    let s = Session::bandit("1", vec![0, 2], vec![0.0, 1.0]).unwrap();
    let subject = Subject::new("x", vec![s]).unwrap();
    let msg = model
        .likelihood(&subject)
        .err()
        .expect("refused")
        .to_string();
    assert!(msg.contains("action") && msg.contains("`x`"), "{msg}");
    assert!(RwChoiceKernel::new(0, 2).is_err());
    assert!(RwChoiceKernel::new(1, 1).is_err());
    assert!(RwChoiceKernel::new(usize::MAX, 4).is_err());
    assert!(
        RwChoiceKernel::new(1, 3)
            .unwrap()
            .with_task(Bandit::new(vec![0.5, 0.5]).unwrap())
            .is_err()
    );
    let s = Session::bandit("1", vec![0, 1], vec![0.0, 1.0]).unwrap();
    let subject = Subject::new("x", vec![s]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    for bad in [f64::NAN, f64::INFINITY, 1e308] {
        let theta = Array1::from(vec![0.0, bad, 0.0, 0.0]);
        assert!(lik.value(theta.view()).is_err());
    }
}

/// Simulated data tell a habit from none: on 20 simulated subjects × 300 trials (fixed seed)
/// per hypothesis, the summed log-likelihood ratio favours the generating kernel weight
/// (β_c = 3 or 0) over the other one. (Simulation and likelihood share the kernel's update; its
/// correctness is the oracle test's job.)
#[test]
fn a_habit_is_told_apart_from_none() {
    let sim = TaskSimulator::new(RwChoiceKernel::new(1, 2).unwrap(), 300).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut gain = [0.0; 2];
    for (k, bc) in [3.0, 0.0].into_iter().enumerate() {
        let theta = sim
            .layout()
            .theta_from_natural(&[
                ("alpha", 0.3),
                ("beta", 4.0),
                ("alpha_c", 0.3),
                ("beta_c", bc),
            ])
            .unwrap();
        for i in 0..20 {
            let subject = sim
                .simulate_subject(theta.view(), i, &format!("s{i}"), &mut rng)
                .unwrap();
            let lik = sim.likelihood(&subject).unwrap();
            let mut other = theta.clone();
            other[3] = 3.0 - bc; // the other hypothesis
            gain[k] += lik.value(theta.view()).unwrap() - lik.value(other.view()).unwrap();
        }
    }
    assert!(
        gain[0] > 0.0 && gain[1] > 0.0,
        "log-likelihood ratios {gain:?}"
    );
}

/// An independent implementation in plain f64 (explicit exponentials, its own kernel update),
/// with the kernel weighted, dual rates and a lapse: the model's value to 1e-12.
#[test]
fn value_matches_an_independent_implementation() {
    let model = RwChoiceKernel::new(2, 3)
        .unwrap()
        .dual()
        .unwrap()
        .with_lapse()
        .unwrap();
    let (ap, an, beta, ac, bc, eps) = (0.6, 0.2, 2.5, 0.4, 1.5, 0.1);
    let states = [0u32, 1, 0, 0, 1, 1, 0, 1, 0];
    let actions = [2u32, 0, MISSED, 1, 2, 0, 0, 1, 2];
    let rewards = [1.0, -0.5, 0.3, 0.0, 1.0, 0.5, -1.0, 1.0, 0.2];
    let (mut q, mut ck) = ([[0.0f64; 3]; 2], [[0.0f64; 3]; 2]);
    let mut want = 0.0;
    for t in 0..states.len() {
        if actions[t] == MISSED {
            continue;
        }
        let (s, a) = (states[t] as usize, actions[t] as usize);
        let z: Vec<f64> = (0..3).map(|j| beta * q[s][j] + bc * ck[s][j]).collect();
        let norm: f64 = z.iter().map(|x| x.exp()).sum();
        want += ((1.0 - eps) * z[a].exp() / norm + eps / 3.0).ln();
        let delta = rewards[t] - q[s][a];
        q[s][a] += if delta >= 0.0 { ap } else { an } * delta;
        for (j, c) in ck[s].iter_mut().enumerate() {
            let hit = if j == a { 1.0 } else { 0.0 };
            *c = (1.0 - ac) * *c + ac * hit;
        }
    }
    let session = Session::new("1", states.to_vec(), actions.to_vec(), rewards.to_vec()).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let theta = model
        .layout()
        .theta_from_natural(&[
            ("alpha_pos", ap),
            ("alpha_neg", an),
            ("beta", beta),
            ("alpha_c", ac),
            ("beta_c", bc),
            ("lapse", eps),
        ])
        .unwrap();
    let got = model
        .likelihood(&subject)
        .unwrap()
        .value(theta.view())
        .unwrap();
    assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Garbage in (nasty θ, nasty rewards, any ψ to simulate): an error or finite results with
    /// the same value bits in every method, never a panic or NaN.
    #[test]
    fn garbage_is_an_error_or_finite(
        lapse in any::<bool>(),
        theta in proptest::collection::vec(crate::common::nasty::nasty(), 5),
        subject in crate::garbage::garbage_subject(2, 3),
        psi in proptest::collection::vec(crate::common::nasty::nasty(), 0..7),
        n in 0usize..4,
    ) {
        let model = variant(false, lapse, 2, 3);
        if let Ok(lik) = model.likelihood(&subject) {
            let theta = Array1::from(theta[..model.layout().len()].to_vec());
            crate::garbage::check_outputs(&*lik, theta.view())?;
        }
        let one = RwChoiceKernel::new(1, 3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        if let Ok(s) = rlgrad::task::TaskModel::simulate_session(&one, &psi, n, "g", &mut rng) {
            prop_assert!(s.actions().iter().all(|&a| a < 3));
        }
    }
}
