//! The two-step task's hybrid model (`rlgrad::task::TwoStep`): derivatives against finite
//! differences and the value against an independent implementation, bad data, the
//! behavioural signatures of model-free and model-based simulated subjects, and recovery.

use ndarray::Array1;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::ad::{Grad, Scalar};
use rlgrad::data::{MISSED, Session, Subject};
use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
use rlgrad::prelude::Term;
use rlgrad::task::{TaskModel, TwoStep};
use rlgrad::testing::{CheckOptions, check_term};

/// One trial of generated data: stage-1 action (or missed), whether the stage-2 row exists,
/// the stage-2 state, action (or missed) and reward.
type Trial = (Option<u32>, bool, u32, Option<u32>, f64);

fn trial() -> impl Strategy<Value = Trial> {
    (
        prop_oneof![9 => (0u32..2).prop_map(Some), 1 => Just(None)],
        any::<bool>(),
        1u32..3,
        prop_oneof![9 => (0u32..2).prop_map(Some), 1 => Just(None)],
        -1.0..1.0f64,
    )
}

/// The session's rows (one per stage), as the model's data layout says.
fn session(trials: &[Trial]) -> Session {
    let (mut states, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    for &(a1, has_stage_2, s2, a2, r) in trials {
        states.push(0);
        actions.push(a1.unwrap_or(MISSED));
        rewards.push(0.0);
        if a1.is_some() || has_stage_2 {
            states.push(s2);
            actions.push(a2.unwrap_or(MISSED));
            rewards.push(r);
        }
    }
    Session::new("1", states, actions, rewards).unwrap()
}

/// ψ of a preset from the full set (α₁, α₂, λ, w, β₁, β₂, κ).
fn preset_psi(preset: usize, full: [f64; 7]) -> Vec<f64> {
    match preset {
        0 => full.to_vec(),
        1 => vec![full[0], full[1], full[2], full[4], full[5], full[6]],
        _ => vec![full[1], full[4], full[5], full[6]],
    }
}

fn preset(i: usize) -> TwoStep {
    match i {
        0 => TwoStep::hybrid(),
        1 => TwoStep::model_free(),
        _ => TwoStep::model_based(),
    }
}

/// An independent implementation in plain f64 (probabilities by explicit exponentials), and
/// the smallest gap between two stage-2 values at a stage-1 choice (where the maximum's
/// derivative jumps).
fn oracle(full: [f64; 7], trials: &[Trial]) -> (f64, f64) {
    let [a1r, a2r, lam, w, b1, b2, kappa] = full;
    let (mut mf, mut q2) = ([0.0f64; 2], [[0.0f64; 2]; 2]);
    let mut prev: Option<u32> = None;
    let (mut ll, mut gap) = (0.0, f64::INFINITY);
    for &(a1, has_stage_2, s2, a2, r) in trials {
        if let Some(a1) = a1 {
            let mb: Vec<f64> = (0..2)
                .map(|a| {
                    let best = |s: usize| q2[s][0].max(q2[s][1]);
                    0.7 * best(a) + 0.3 * best(1 - a)
                })
                .collect();
            for row in &q2 {
                if row[0] != row[1] {
                    gap = gap.min((row[0] - row[1]).abs());
                }
            }
            let z: Vec<f64> = (0..2u32)
                .map(|a| {
                    let net = w * mb[a as usize] + (1.0 - w) * mf[a as usize];
                    b1 * net + if prev == Some(a) { kappa } else { 0.0 }
                })
                .collect();
            ll += z[a1 as usize] - (z[0].exp() + z[1].exp()).ln();
            prev = Some(a1);
        }
        if (a1.is_some() || has_stage_2)
            && let Some(a2) = a2
        {
            let q = q2[s2 as usize - 1];
            ll += b2 * q[a2 as usize] - ((b2 * q[0]).exp() + (b2 * q[1]).exp()).ln();
            if let Some(a1) = a1 {
                let (a1, a2, s) = (a1 as usize, a2 as usize, s2 as usize - 1);
                let d1 = q2[s][a2] - mf[a1];
                let d2 = r - q2[s][a2];
                q2[s][a2] += a2r * d2;
                mf[a1] += a1r * (d1 + lam * d2);
            }
        }
    }
    (ll, gap)
}

fn subject_of(trials: &[Trial]) -> Subject {
    Subject::new("s", vec![session(trials)]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Gradient and Hessian of every preset against finite differences, and the value against
    /// the independent implementation, on sessions with missed choices; cases within 10⁻³ of a
    /// tie of stage-2 values (where the maximum's derivative jumps) are skipped.
    #[test]
    fn derivatives_and_value_of_every_preset(
        which in 0usize..3,
        alpha in (0.02..0.98f64, 0.02..0.98f64, 0.0..1.0f64, 0.0..1.0f64),
        beta in (0.1..8.0f64, 0.1..8.0f64, -2.0..2.0f64),
        trials in proptest::collection::vec(trial(), 1..30),
    ) {
        let mut full = [alpha.0, alpha.1, alpha.2, alpha.3, beta.0, beta.1, beta.2];
        match which {
            1 => full[3] = 0.0,
            2 => {
                full[3] = 1.0;
                full[0] = 0.0;
                full[2] = 0.0;
            }
            _ => {}
        }
        let (want, gap) = oracle(full, &trials);
        prop_assume!(gap > 1e-3);
        let model = preset(which);
        let subject = Subject::new("s", vec![session(&trials)]);
        prop_assume!(subject.is_ok()); // not every choice missed
        let subject = subject.unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let psi = preset_psi(which, full);
        let names: Vec<&str> = model.layout().names().collect();
        let named: Vec<(&str, f64)> = names.iter().copied().zip(psi.iter().copied()).collect();
        let theta = model.layout().theta_from_natural(&named).unwrap();
        let got = lik.value(theta.view()).unwrap();
        prop_assert!((got - want).abs() <= 1e-10 * (1.0 + want.abs()), "{got} vs {want}");
        let report = check_term(&*lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{report}");
        // The hand-written gradient against forward-mode differentiation of the generic
        // recursion, with respect to ψ: the same value bits, the same gradient to 1e-12.
        let s = &subject.sessions()[0];
        let vars: Vec<Grad<8>> = psi.iter().enumerate().map(|(i, &x)| Grad::variable(x, i)).collect();
        let auto = model.session_log_lik(&vars, s);
        let mut hand = vec![0.0; psi.len()];
        let v = model.session_value_and_grad(&psi, s, &mut hand).unwrap();
        prop_assert_eq!(v.to_bits(), auto.v.to_bits());
        for (i, h) in hand.iter().enumerate() {
            prop_assert!((h - auto.g[i]).abs() <= 1e-12 * (1.0 + h.abs()), "{i}: {h} vs {}", auto.g[i]);
        }
    }
}

#[test]
fn bad_sessions_are_refused_with_their_trial() {
    let model = TwoStep::hybrid();
    let cases: [(Vec<u32>, Vec<u32>, &str); 6] = [
        (vec![0, 3], vec![0, 1], "state"),       // a fourth state
        (vec![0, 1], vec![0, 2], "action"),      // a third action
        (vec![1, 0], vec![0, 1], "state"),       // stage 2 before stage 1
        (vec![0, 1, 1], vec![0, 1, 0], "state"), // two stage-2 rows
        (vec![0, 0, 1], vec![0, 1, 0], "state"), // a stage-1 choice without its stage 2
        (vec![0, 1, 0], vec![0, 1, 1], "state"), // a session ending with a stage-1 choice
    ];
    for (states, actions, field) in cases {
        let n = states.len();
        let s = Session::new("1", states, actions, vec![0.0; n]).unwrap();
        let subject = Subject::new("x", vec![s]).unwrap();
        let err = model.likelihood(&subject).err().expect("refused");
        let msg = err.to_string();
        assert!(msg.contains(field) && msg.contains("`x`"), "{msg}");
    }
    // A next state that contradicts the following row.
    let s = Session::new("1", vec![0, 1], vec![0, 1], vec![0.0, 1.0])
        .unwrap()
        .with_next_states(vec![2, u32::MAX])
        .unwrap();
    let subject = Subject::new("x", vec![s]).unwrap();
    let msg = model
        .likelihood(&subject)
        .err()
        .expect("refused")
        .to_string();
    assert!(msg.contains("next_state"), "{msg}");
}

#[test]
fn parameters_outside_their_range_and_non_finite_theta_are_errors() {
    let model = TwoStep::hybrid();
    let subject = subject_of(&[(Some(0), true, 1, Some(1), 1.0)]);
    let lik = model.likelihood(&subject).unwrap();
    for bad in [f64::NAN, f64::INFINITY, 1e308] {
        let theta = Array1::from(vec![0.0, 0.0, 0.0, 0.0, bad, 0.0, 0.0]);
        assert!(lik.value(theta.view()).is_err());
    }
    let model = TwoStep::hybrid()
        .with_transform("w", rlgrad::params::Transform::Identity)
        .unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let theta = Array1::from(vec![0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0]);
    let msg = lik.value(theta.view()).unwrap_err().to_string();
    assert!(msg.contains("`w`"), "{msg}");
}

/// P(repeat the stage-1 choice) after (rewarded, unrewarded) × (common, rare) trials.
fn stay_probabilities(subjects: &[Subject]) -> [[(f64, f64); 2]; 2] {
    let mut counts = [[(0.0f64, 0.0f64); 2]; 2];
    for subject in subjects {
        for s in subject.sessions() {
            let (st, a, r) = (s.states(), s.actions(), s.rewards());
            // Rows come in pairs (stage 1, stage 2) in simulated data.
            for t in (0..st.len().saturating_sub(2)).step_by(2) {
                let common = (st[t + 1] as usize) == 1 + a[t] as usize;
                let rewarded = r[t + 1] > 0.0;
                let stay = a[t + 2] == a[t];
                let c = &mut counts[usize::from(!rewarded)][usize::from(!common)];
                c.0 += f64::from(u8::from(stay));
                c.1 += 1.0;
            }
        }
    }
    counts.map(|row| row.map(|(stay, n)| (stay / n, n)))
}

fn cohort(model: TwoStep, psi: &[(&str, f64)], n: usize, trials: usize, seed: u64) -> Vec<Subject> {
    let sim = TaskSimulator::new(model, trials).unwrap();
    let theta = sim.layout().theta_from_natural(psi).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            sim.simulate_subject(theta.view(), i, &format!("s{i}"), &mut rng)
                .unwrap()
        })
        .collect()
}

/// The two signatures of Daw et al. (2011, fig. 2): a model-free learner repeats rewarded
/// choices whatever the transition (a main effect of reward); a model-based learner repeats
/// a choice after a reward on a common transition and after no reward on a rare one (a
/// reward × transition interaction). Measured on 40 simulated subjects × 200 trials each
/// (fixed seed); each effect must exceed 4 standard errors, and the absent one stay within 4.
#[test]
fn simulated_learners_show_the_model_free_and_model_based_signatures() {
    let shared = [("beta_1", 5.0), ("beta_2", 5.0), ("kappa", 0.0)];
    let mf: Vec<(&str, f64)> = [("alpha_1", 0.5), ("alpha_2", 0.5), ("lambda", 0.95)]
        .into_iter()
        .chain(shared)
        .collect();
    let mb: Vec<(&str, f64)> = [("alpha_2", 0.5)].into_iter().chain(shared).collect();
    let free = stay_probabilities(&cohort(TwoStep::model_free(), &mf, 40, 200, 11));
    let based = stay_probabilities(&cohort(TwoStep::model_based(), &mb, 40, 200, 12));
    // Effects as differences of stay proportions, with their standard errors.
    let se = |c: &[[(f64, f64); 2]; 2], terms: [(usize, usize, f64); 4]| {
        let est: f64 = terms.iter().map(|&(i, j, s)| s * c[i][j].0).sum();
        let var: f64 = terms
            .iter()
            .map(|&(i, j, _)| c[i][j].0 * (1.0 - c[i][j].0) / c[i][j].1)
            .sum();
        (est, var.sqrt())
    };
    // Reward main effect: (rewarded − unrewarded), summed over transitions.
    let reward = [(0, 0, 0.5), (0, 1, 0.5), (1, 0, -0.5), (1, 1, -0.5)];
    // Interaction: (rewarded − unrewarded) on common minus on rare.
    let inter = [(0, 0, 1.0), (0, 1, -1.0), (1, 0, -1.0), (1, 1, 1.0)];
    let (fr, fr_se) = se(&free, reward);
    let (fi, fi_se) = se(&free, inter);
    let (bi, bi_se) = se(&based, inter);
    assert!(fr > 4.0 * fr_se, "model-free reward effect {fr} ± {fr_se}");
    assert!(
        fi.abs() < 4.0 * fi_se,
        "model-free interaction {fi} ± {fi_se}"
    );
    assert!(bi > 4.0 * bi_se, "model-based interaction {bi} ± {bi_se}");
}

#[test]
fn simulation_writes_the_documented_layout() {
    let psi = [
        ("alpha_1", 0.5),
        ("alpha_2", 0.5),
        ("lambda", 0.6),
        ("w", 0.5),
        ("beta_1", 4.0),
        ("beta_2", 4.0),
        ("kappa", 0.2),
    ];
    let subjects = cohort(TwoStep::hybrid(), &psi, 1, 50, 3);
    let s = &subjects[0].sessions()[0];
    assert_eq!(s.len(), 100);
    let next = s.next_states().unwrap();
    for t in (0..100).step_by(2) {
        assert_eq!(s.states()[t], 0);
        assert!(s.states()[t + 1] == 1 || s.states()[t + 1] == 2);
        assert_eq!(next[t], s.states()[t + 1]);
        assert_eq!(s.rewards()[t], 0.0);
    }
    // The model explains its own data.
    let model = TwoStep::hybrid();
    assert!(model.check_subject(&subjects[0]).is_ok());
}

/// The bar: at 150 trials per subject, model recovery tells the hybrid from the pure
/// model-free and model-based learners (iBIC, EM with diagonal Σ): every generating model wins
/// most of its own cohorts (2 cohorts × 30 subjects each, seed 150). Long (about a minute in
/// release): `cargo test --release --test suite -- --ignored two_step::model_recovery`.
#[test]
#[ignore]
fn model_recovery_at_150_trials() {
    use ndarray::arr1;
    use rlgrad::fit::{
        Candidate, CompareOptions, Covariance, Criterion, EmOptions, ModelRecoveryOptions,
        model_recovery,
    };
    use rlgrad::prior::MvGaussian;
    let hybrid = TaskSimulator::new(TwoStep::hybrid(), 150).unwrap();
    let free = TaskSimulator::new(TwoStep::model_free(), 150).unwrap();
    let based = TaskSimulator::new(TwoStep::model_based(), 150).unwrap();
    let p_hybrid = MvGaussian::diagonal(
        arr1(&[0.0, 0.0, 0.5, 0.0, 1.3, 1.3, 0.3]),
        arr1(&[0.36, 0.36, 0.36, 0.64, 0.09, 0.09, 0.09]),
    )
    .unwrap();
    let p_free = MvGaussian::diagonal(
        arr1(&[0.0, 0.0, 0.5, 1.3, 1.3, 0.3]),
        arr1(&[0.36, 0.36, 0.36, 0.09, 0.09, 0.09]),
    )
    .unwrap();
    let p_based =
        MvGaussian::diagonal(arr1(&[0.0, 1.3, 1.3, 0.3]), arr1(&[0.36, 0.09, 0.09, 0.09])).unwrap();
    let candidates = [
        Candidate {
            name: "hybrid",
            model: &hybrid,
            population: &p_hybrid,
        },
        Candidate {
            name: "model-free",
            model: &free,
            population: &p_free,
        },
        Candidate {
            name: "model-based",
            model: &based,
            population: &p_based,
        },
    ];
    let options = ModelRecoveryOptions {
        n_subjects: 30,
        n_cohorts: 2,
        criterion: Criterion::Ibic,
        compare: CompareOptions {
            em: EmOptions {
                covariance: Covariance::Diagonal,
                ..EmOptions::default()
            },
            ibic_samples: 300,
        },
    };
    let mut rng = ChaCha8Rng::seed_from_u64(150);
    let mr = model_recovery(&candidates, &options, &mut rng).unwrap();
    println!("{}", mr.table());
    let fr = mr.fractions();
    for g in 0..3 {
        assert!(
            fr[[g, g]] > 0.5,
            "generating model {g} won {} of its cohorts\n{}",
            fr[[g, g]],
            mr.table()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Garbage in: nasty θ (huge, tiny, non-finite) and nasty rewards give an error or finite
    /// results with the same value bits in every method, never a panic or NaN; simulation
    /// with any ψ and length is an error or a session the model explains.
    #[test]
    fn garbage_is_an_error_or_finite(
        which in 0usize..3,
        theta in proptest::collection::vec(crate::common::nasty::nasty(), 7),
        trials in proptest::collection::vec(trial(), 1..12),
        rewards in proptest::collection::vec(crate::common::nasty::nasty_finite(), 12),
        psi in proptest::collection::vec(crate::common::nasty::nasty(), 0..9),
        n in 0usize..4,
    ) {
        let model = preset(which);
        let trials: Vec<Trial> = trials
            .iter()
            .zip(&rewards)
            .map(|(&(a1, has, s2, a2, _), &r)| (a1, has, s2, a2, r))
            .collect();
        if let Ok(subject) = Subject::new("s", vec![session(&trials)]) {
            let lik = model.likelihood(&subject).unwrap();
            let theta = Array1::from(theta[..model.layout().len()].to_vec());
            crate::garbage::check_outputs(&*lik, theta.view())?;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        if let Ok(s) = model.simulate_session(&psi, n, "g", &mut rng) {
            let subject = Subject::new("g", vec![s]).unwrap();
            prop_assert!(model.check_subject(&subject).is_ok());
        }
    }
}
