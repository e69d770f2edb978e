//! The environments of three standard tasks: the two-step task (Daw et al. 2011), the
//! go/no-go task (Guitart-Masip et al. 2012) and the restless bandit (Daw et al. 2006).
//!
//! Statistical checks use fixed seeds and compare with the task's definition within 4
//! standard errors; every environment is played by `Model::simulate` (Rescorla–Wagner with
//! softmax) and refuses bad options and actions with typed errors.

use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::data::{NO_STATE, Session};
use rlgrad::env::{
    Environment, GoNoGoTask, RestlessBandit, RestlessOptions, TwoStepOptions, TwoStepTask,
};
use rlgrad::learning::RescorlaWagner;
use rlgrad::observation::Softmax;
use rlgrad::{Error, Model};

use crate::common::stats::Stats;

/// Tolerance of the statistical checks, in standard errors.
const SE: f64 = 4.0;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// |rate − p| in standard errors of a rate of `hits` in `n` Bernoulli(p) trials.
fn rate_error_in_se(hits: usize, n: usize, p: f64) -> f64 {
    let rate = hits as f64 / n as f64;
    (rate - p).abs() / (p * (1.0 - p) / n as f64).sqrt()
}

/// Asserts that `result` is an `InvalidOption` naming `name`.
fn assert_invalid_option<T: std::fmt::Debug>(result: rlgrad::Result<T>, name: &str) {
    match result {
        Err(Error::InvalidOption { name: n, .. }) if n == name => {}
        other => panic!("expected InvalidOption naming `{name}`, got {other:?}"),
    }
}

/// Asserts that `result` is an `IndexOutOfRange` with the given limit.
fn assert_out_of_range<T: std::fmt::Debug>(result: rlgrad::Result<T>, limit: usize) {
    match result {
        Err(Error::IndexOutOfRange { limit: l, .. }) if l == limit => {}
        other => panic!("expected IndexOutOfRange (limit {limit}), got {other:?}"),
    }
}

/// Simulates `n` trials of RW + softmax (α = 0.3, inverse temperature `beta`) in `env`; the
/// model's table has the environment's shape.
fn simulate<E: Environment>(env: &mut E, beta: f64, n: usize, seed: u64) -> Session {
    let model = Model::new(
        RescorlaWagner::new(),
        Softmax::new(),
        env.n_states(),
        env.n_actions(),
    )
    .unwrap();
    let theta: Array1<f64> = model
        .layout()
        .theta_from_natural(&[("alpha", 0.3), ("beta", beta)])
        .unwrap();
    let session = model
        .simulate(theta.view(), env, n, "sim", &mut rng(seed))
        .unwrap();
    assert_eq!(session.len(), n);
    session
}

// ---------------------------------------------------------------------------------------
// Two-step task
// ---------------------------------------------------------------------------------------

/// One trial of the two-step task: the stage-2 state reached and the payoff.
fn two_step_trial(
    env: &mut TwoStepTask,
    a1: usize,
    a2: usize,
    rng: &mut ChaCha8Rng,
) -> (usize, f64) {
    assert_eq!(env.reset(rng), 0);
    let first = env.step(a1, rng).unwrap();
    assert_eq!(first.reward, 0.0);
    let s2 = first.next_state.unwrap();
    assert!(s2 == 1 || s2 == 2, "stage-2 state {s2}");
    assert_eq!(env.state(), s2);
    let second = env.step(a2, rng).unwrap();
    assert_eq!(second.next_state, None);
    assert!(second.reward == 0.0 || second.reward == 1.0);
    (s2, second.reward)
}

#[test]
fn two_step_common_transition_rate_is_0_7() {
    let mut rng = rng(11);
    let mut env = TwoStepTask::random(TwoStepOptions::default(), &mut rng).unwrap();
    assert_eq!(env.last_transition_common(), None);
    let n = 20_000;
    let mut common = [0usize; 2];
    let mut tries = [0usize; 2];
    for t in 0..n {
        let a1 = t % 2;
        let (s2, _) = two_step_trial(&mut env, a1, (t / 2) % 2, &mut rng);
        let was_common = env.last_transition_common().unwrap();
        // Common: action a leads to state 1 + a.
        assert_eq!(was_common, s2 == env.common_successor(a1).unwrap());
        assert_eq!(was_common, s2 == 1 + a1);
        tries[a1] += 1;
        common[a1] += usize::from(was_common);
    }
    for a in 0..2 {
        let e = rate_error_in_se(common[a], tries[a], 0.7);
        assert!(
            e < SE,
            "action {a}: {} / {} common, {e:.2} SE",
            common[a],
            tries[a]
        );
    }
    let e = rate_error_in_se(common[0] + common[1], n, 0.7);
    assert!(e < SE, "{e:.2} SE");
    // Another common probability.
    let options = TwoStepOptions {
        common: 0.4,
        ..TwoStepOptions::default()
    };
    let mut env = TwoStepTask::random(options, &mut rng).unwrap();
    let hits = (0..n)
        .filter(|&t| {
            two_step_trial(&mut env, t % 2, 0, &mut rng);
            env.last_transition_common().unwrap()
        })
        .count();
    let e = rate_error_in_se(hits, n, 0.4);
    assert!(e < SE, "common = 0.4: {hits} / {n}, {e:.2} SE");
}

#[test]
fn two_step_payoff_rates_follow_the_probabilities() {
    let probs = [[0.25, 0.75], [0.4, 0.6]];
    let options = TwoStepOptions {
        drift_sd: 0.0,
        ..TwoStepOptions::default()
    };
    let mut env = TwoStepTask::new(probs, options).unwrap();
    let mut rng = rng(12);
    // [stage-2 state − 1][action]: (payoffs, visits).
    let mut counts = [[(0usize, 0usize); 2]; 2];
    for t in 0..40_000 {
        let a2 = (t / 2) % 2;
        let (s2, r) = two_step_trial(&mut env, t % 2, a2, &mut rng);
        let c = &mut counts[s2 - 1][a2];
        c.0 += usize::from(r == 1.0);
        c.1 += 1;
    }
    assert_eq!(env.probabilities(), probs, "no drift with drift_sd = 0");
    for s in 0..2 {
        for b in 0..2 {
            let (hits, n) = counts[s][b];
            let e = rate_error_in_se(hits, n, probs[s][b]);
            assert!(
                e < SE,
                "state {}, action {b}: {hits} / {n}, {e:.2} SE",
                s + 1
            );
        }
    }
}

#[test]
fn two_step_probabilities_never_leave_their_bounds() {
    let mut rng = rng(13);
    // The paper's drift, and a drift so large that a step often crosses the interval more
    // than once (reflections at both ends in one step).
    for (drift_sd, bounds) in [
        (0.025, [0.25, 0.75]),
        (0.3, [0.4, 0.5]),
        (0.05, [0.01, 0.99]),
    ] {
        let options = TwoStepOptions {
            drift_sd,
            bounds,
            ..TwoStepOptions::default()
        };
        let mut env = TwoStepTask::random(options, &mut rng).unwrap();
        let [lo, hi] = bounds;
        let (mut min, mut max) = (1.0_f64, 0.0_f64);
        for t in 0..20_000 {
            two_step_trial(&mut env, t % 2, (t / 3) % 2, &mut rng);
            for &p in env.probabilities().iter().flatten() {
                assert!(
                    lo <= p && p <= hi,
                    "sd {drift_sd}: p = {p} outside [{lo}, {hi}]"
                );
                // Reflected, not clamped: a clamp would put many values on a bound.
                assert!(p != lo && p != hi, "sd {drift_sd}: p = {p} on a bound");
                min = min.min(p);
                max = max.max(p);
            }
        }
        // The walks reach both ends of the interval (so the bounds were tested).
        let w = hi - lo;
        assert!(
            min < lo + 0.02 * w && max > hi - 0.02 * w,
            "sd {drift_sd}: range [{min}, {max}]"
        );
    }
}

#[test]
fn two_step_drift_has_sd_0_025_away_from_the_bounds() {
    let mut rng = rng(14);
    let mut env = TwoStepTask::random(TwoStepOptions::default(), &mut rng).unwrap();
    // Steps from a probability at least 0.15 (6 s.d.) inside both bounds: a reflection has
    // probability ≈ 2·10⁻⁹ there, so the step is the plain Gaussian step.
    let mut steps = Vec::new();
    for t in 0..15_000 {
        let before = env.probabilities();
        two_step_trial(&mut env, t % 2, (t / 2) % 2, &mut rng);
        let after = env.probabilities();
        for (p0, p1) in before.iter().flatten().zip(after.iter().flatten()) {
            if (0.4..=0.6).contains(p0) {
                steps.push(vec![p1 - p0]);
            }
        }
    }
    assert!(steps.len() > 10_000, "{} steps", steps.len());
    let stats = Stats::new(&steps);
    let bias = stats.bias_in_se(&[0.0]);
    let var = stats.var_error_in_se(&[0.025 * 0.025]);
    assert!(
        bias < SE && var < SE,
        "mean {bias:.2} SE, variance {var:.2} SE ({} steps)",
        steps.len()
    );
}

#[test]
fn two_step_stage_one_moves_nothing_and_reset_starts_over() {
    let mut rng = rng(15);
    let mut env = TwoStepTask::new([[0.3, 0.4], [0.5, 0.6]], TwoStepOptions::default()).unwrap();
    assert_eq!((env.n_states(), env.n_actions(), env.state()), (3, 2, 0));
    let s2 = env.step(0, &mut rng).unwrap().next_state.unwrap();
    assert_eq!(env.probabilities(), [[0.3, 0.4], [0.5, 0.6]]);
    // A step after the end (no reset) plays the stage-2 state again.
    assert_eq!(env.step(1, &mut rng).unwrap().next_state, None);
    assert_eq!(env.state(), s2);
    assert_eq!(env.step(1, &mut rng).unwrap().next_state, None);
    let common = env.last_transition_common();
    assert_eq!(env.reset(&mut rng), 0);
    assert_eq!(
        env.last_transition_common(),
        common,
        "kept through the reset"
    );
    // The same seed gives the same run.
    let mut a = TwoStepTask::random(TwoStepOptions::default(), &mut self::rng(1)).unwrap();
    let mut b = a;
    let (mut ra, mut rb) = (self::rng(2), self::rng(2));
    for t in 0..50 {
        assert_eq!(
            two_step_trial(&mut a, t % 2, 1, &mut ra),
            two_step_trial(&mut b, t % 2, 1, &mut rb)
        );
    }
    assert_eq!(a, b);
}

#[test]
fn two_step_refuses_bad_options_and_actions() {
    let probs = [[0.5; 2]; 2];
    let with = |f: &dyn Fn(&mut TwoStepOptions)| {
        let mut o = TwoStepOptions::default();
        f(&mut o);
        o
    };
    for common in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        let o = with(&|o| o.common = common);
        assert_invalid_option(TwoStepTask::new(probs, o), "common");
        assert_invalid_option(TwoStepTask::random(o, &mut rng(0)), "common");
    }
    for sd in [-0.01, f64::NAN, f64::INFINITY] {
        assert_invalid_option(
            TwoStepTask::new(probs, with(&|o| o.drift_sd = sd)),
            "drift_sd",
        );
    }
    for bounds in [
        [0.0, 0.75],
        [0.25, 1.0],
        [0.6, 0.4],
        [0.5, 0.5],
        [f64::NAN, 0.75],
        [0.25, f64::INFINITY],
    ] {
        let o = with(&|o| o.bounds = bounds);
        assert_invalid_option(TwoStepTask::new(probs, o), "bounds");
        assert_invalid_option(TwoStepTask::random(o, &mut rng(0)), "bounds");
    }
    for bad in [0.2, 0.8, f64::NAN] {
        let err = TwoStepTask::new([[0.5, 0.5], [0.5, bad]], TwoStepOptions::default());
        assert_invalid_option(err, "payoff probability of state 2, action 1");
    }
    // Probabilities within other bounds are accepted.
    let o = with(&|o| o.bounds = [0.1, 0.9]);
    assert!(TwoStepTask::new([[0.1, 0.9], [0.2, 0.8]], o).is_ok());
    // Out-of-range actions, at both stages, leave the task unchanged.
    let mut rng = rng(16);
    let mut env = TwoStepTask::random(TwoStepOptions::default(), &mut rng).unwrap();
    env.reset(&mut rng);
    for stage_two in [false, true] {
        if stage_two {
            env.step(0, &mut rng).unwrap();
        }
        let before = env;
        for a in [2, usize::MAX] {
            assert_out_of_range(env.step(a, &mut rng), 2);
        }
        assert_eq!(env, before);
    }
    assert_out_of_range(env.common_successor(2), 2);
}

#[test]
fn two_step_is_played_by_simulate() {
    let mut env = TwoStepTask::random(TwoStepOptions::default(), &mut rng(17)).unwrap();
    let session = simulate(&mut env, 3.0, 400, 18);
    for (t, trial) in session.trials().enumerate() {
        let (s, r) = (trial.state, trial.reward);
        if t % 2 == 0 {
            // Stage 1: no payoff, on to a stage-2 state.
            assert_eq!((s, r), (0, 0.0), "trial {t}");
            let next = trial.next_state.unwrap();
            assert!(next == 1 || next == 2, "trial {t}");
            assert_eq!(session.states()[t + 1] as usize, next);
        } else {
            assert!((s == 1 || s == 2) && (r == 0.0 || r == 1.0), "trial {t}");
            assert_eq!(trial.next_state, None, "trial {t}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Go/no-go task
// ---------------------------------------------------------------------------------------

#[test]
fn go_nogo_outcome_rates_by_cue_and_action() {
    let mut rng = rng(21);
    for p in [0.8, 0.65] {
        let mut env = GoNoGoTask::new().with_correct_probability(p).unwrap();
        assert_eq!(env.correct_probability(), p);
        for cue in 0..4 {
            let win = env.is_win_cue(cue).unwrap();
            let (good, bad) = if win { (1.0, 0.0) } else { (0.0, -1.0) };
            for action in [GoNoGoTask::NO_GO, GoNoGoTask::GO] {
                let n = 5_000;
                let mut hits = 0;
                for _ in 0..n {
                    assert_eq!(env.reset_to(cue).unwrap(), cue);
                    let out = env.step(action, &mut rng).unwrap();
                    assert_eq!(out.next_state, None);
                    assert!(out.reward == good || out.reward == bad, "{out:?}");
                    hits += usize::from(out.reward == good);
                }
                let correct = action == env.correct_action(cue).unwrap();
                let expected = if correct { p } else { 1.0 - p };
                let e = rate_error_in_se(hits, n, expected);
                assert!(
                    e < SE,
                    "p {p}, cue {cue}, action {action}: {hits} / {n}, {e:.2} SE"
                );
            }
        }
    }
}

#[test]
fn go_nogo_cue_table() {
    let env = GoNoGoTask::new();
    assert_eq!((env.n_states(), env.n_actions()), (4, 2));
    assert_eq!((GoNoGoTask::NO_GO, GoNoGoTask::GO), (0, 1));
    let table = [
        (GoNoGoTask::GO_TO_WIN, 0, true, GoNoGoTask::GO),
        (GoNoGoTask::GO_TO_AVOID_LOSING, 1, false, GoNoGoTask::GO),
        (GoNoGoTask::NO_GO_TO_WIN, 2, true, GoNoGoTask::NO_GO),
        (
            GoNoGoTask::NO_GO_TO_AVOID_LOSING,
            3,
            false,
            GoNoGoTask::NO_GO,
        ),
    ];
    for (cue, index, win, correct) in table {
        assert_eq!(cue, index);
        assert_eq!(env.is_win_cue(cue).unwrap(), win);
        assert_eq!(env.correct_action(cue).unwrap(), correct);
    }
    // Deterministic outcomes at p = 1 and p = 0.
    let mut rng = rng(22);
    for (p, rewards) in [(1.0, [1.0, 0.0, 1.0, 0.0]), (0.0, [0.0, -1.0, 0.0, -1.0])] {
        let mut env = GoNoGoTask::new().with_correct_probability(p).unwrap();
        for (cue, &reward) in rewards.iter().enumerate() {
            env.reset_to(cue).unwrap();
            let a = env.correct_action(cue).unwrap();
            assert_eq!(
                env.step(a, &mut rng).unwrap().reward,
                reward,
                "p {p}, cue {cue}"
            );
            // A step without a reset plays the same cue again.
            assert_eq!(env.cue(), cue);
        }
    }
}

#[test]
fn go_nogo_cues_are_uniform_or_in_balanced_blocks() {
    let mut rng = rng(23);
    let mut env = GoNoGoTask::new();
    assert!(!env.uses_blocks());
    let n = 20_000;
    let mut counts = [0usize; 4];
    for _ in 0..n {
        let cue = env.reset(&mut rng);
        assert_eq!(env.cue(), cue);
        counts[cue] += 1;
    }
    for (cue, &c) in counts.iter().enumerate() {
        let e = rate_error_in_se(c, n, 0.25);
        assert!(e < SE, "cue {cue}: {c} / {n}, {e:.2} SE");
    }
    let mut env = GoNoGoTask::new().with_blocks();
    assert!(env.uses_blocks());
    let mut orders = std::collections::HashSet::new();
    for _ in 0..500 {
        let mut block: Vec<usize> = (0..4).map(|_| env.reset(&mut rng)).collect();
        orders.insert(block.clone());
        block.sort_unstable();
        assert_eq!(block, [0, 1, 2, 3]);
    }
    // Shuffled: all 24 orders occur in 500 blocks (each misses with probability < 10⁻⁹).
    assert_eq!(orders.len(), 24);
    // `reset_to` shows a cue without advancing the block.
    let mut env = GoNoGoTask::new().with_blocks();
    let first = env.reset(&mut rng);
    env.reset_to(first).unwrap();
    let mut rest: Vec<usize> = (0..3).map(|_| env.reset(&mut rng)).collect();
    rest.push(first);
    rest.sort_unstable();
    assert_eq!(rest, [0, 1, 2, 3]);
}

#[test]
fn go_nogo_refuses_bad_options_and_actions() {
    for p in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
        assert_invalid_option(
            GoNoGoTask::new().with_correct_probability(p),
            "correct_probability",
        );
    }
    let mut rng = rng(24);
    let mut env = GoNoGoTask::new();
    env.reset(&mut rng);
    let before = env;
    for a in [2, usize::MAX] {
        assert_out_of_range(env.step(a, &mut rng), 2);
    }
    for cue in [4, usize::MAX] {
        assert_out_of_range(env.reset_to(cue), 4);
        assert_out_of_range(env.is_win_cue(cue), 4);
        assert_out_of_range(env.correct_action(cue), 4);
    }
    assert_eq!(env, before);
}

#[test]
fn go_nogo_is_played_by_simulate() {
    for mut env in [GoNoGoTask::new(), GoNoGoTask::new().with_blocks()] {
        let session = simulate(&mut env, 3.0, 400, 25);
        assert!(
            session
                .next_states()
                .unwrap()
                .iter()
                .all(|&n| n == NO_STATE)
        );
        for (&s, &r) in session.states().iter().zip(session.rewards()) {
            let ok = if s % 2 == 0 {
                r == 0.0 || r == 1.0
            } else {
                r == 0.0 || r == -1.0
            };
            assert!(s < 4 && ok, "cue {s}, reward {r}");
        }
        // Every cue is shown.
        assert!((0..4).all(|cue| session.states().contains(&cue)));
        if env.uses_blocks() {
            for block in session.states().chunks(4) {
                let mut b = block.to_vec();
                b.sort_unstable();
                assert_eq!(b, [0, 1, 2, 3]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Restless bandit
// ---------------------------------------------------------------------------------------

/// The paper's walk: θ = 50, stationary s.d. σ_d / √(1 − λ²).
fn stationary() -> (f64, f64) {
    let o = RestlessOptions::default();
    (o.center, o.drift_sd / (1.0_f64 - o.decay * o.decay).sqrt())
}

#[test]
fn restless_means_are_stationary_with_theory_moments() {
    let (theta, sd) = stationary();
    assert!((RestlessOptions::default().stationary_sd().unwrap() - sd).abs() < 1e-12);
    assert!((sd - 15.52).abs() < 0.01, "{sd}");
    let mut rng = rng(31);
    // Independent bandits, each started from the stationary distribution and walked 150
    // steps: the means at the start and at the end are both stationary.
    let n = 2_000;
    let (mut start, mut end) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let mut env = RestlessBandit::new(4, RestlessOptions::default(), &mut rng).unwrap();
        start.push(env.means().to_vec());
        for t in 0..150 {
            env.step(t % 4, &mut rng).unwrap();
        }
        end.push(env.means().to_vec());
    }
    for (when, samples) in [("start", &start), ("after 150 steps", &end)] {
        let stats = Stats::new(samples);
        let bias = stats.bias_in_se(&[theta; 4]);
        let var = stats.var_error_in_se(&[sd * sd; 4]);
        assert!(
            bias < SE && var < SE,
            "{when}: mean {bias:.2} SE, variance {var:.2} SE"
        );
    }
}

#[test]
fn restless_walk_step_decays_towards_the_centre_with_sd_2_8() {
    let o = RestlessOptions::default();
    let mut rng = rng(32);
    // From means far from θ, so that the decay is visible: the residual of the step
    // μ' − (λμ + (1 − λ)θ) is N(0, σ_d²).
    let mut env = RestlessBandit::with_means(vec![90.0, 10.0, 50.0], o).unwrap();
    let mut residuals = Vec::new();
    for t in 0..20_000 {
        if t % 500 == 0 {
            env = RestlessBandit::with_means(vec![90.0, 10.0, 50.0], o).unwrap();
        }
        let before = env.means().to_vec();
        env.step(t % 3, &mut rng).unwrap();
        let r: Vec<f64> = before
            .iter()
            .zip(env.means())
            .map(|(m0, m1)| m1 - (o.decay * m0 + (1.0 - o.decay) * o.center))
            .collect();
        residuals.push(r);
    }
    let stats = Stats::new(&residuals);
    let bias = stats.bias_in_se(&[0.0; 3]);
    let var = stats.var_error_in_se(&[o.drift_sd * o.drift_sd; 3]);
    assert!(
        bias < SE && var < SE,
        "mean {bias:.2} SE, variance {var:.2} SE"
    );
}

#[test]
fn restless_payoffs_are_rounded_gaussians_clipped_to_1_100() {
    let mut rng = rng(33);
    // Fixed means: payoffs of arm 0 are round(N(50, 16)), whose variance is 16 + 1/12
    // (Sheppard's correction; exact to far below the tolerance for σ_o = 4).
    let fixed = RestlessOptions {
        drift_sd: 0.0,
        decay: 1.0,
        ..RestlessOptions::default()
    };
    let mut env = RestlessBandit::with_means(vec![50.0, 0.0, 101.0, 30.25], fixed).unwrap();
    let mut payoffs = Vec::new();
    let (mut at_one, mut at_hundred) = (0, 0);
    for _ in 0..20_000 {
        let r = env.step(0, &mut rng).unwrap().reward;
        assert_eq!(r.fract(), 0.0);
        payoffs.push(vec![r]);
        let low = env.step(1, &mut rng).unwrap().reward;
        let high = env.step(2, &mut rng).unwrap().reward;
        assert!(low.fract() == 0.0 && (1.0..=100.0).contains(&low), "{low}");
        assert!(
            high.fract() == 0.0 && (1.0..=100.0).contains(&high),
            "{high}"
        );
        at_one += usize::from(low == 1.0);
        at_hundred += usize::from(high == 100.0);
    }
    assert_eq!(env.means(), [50.0, 0.0, 101.0, 30.25], "no drift");
    let stats = Stats::new(&payoffs);
    let bias = stats.bias_in_se(&[50.0]);
    let var = stats.var_error_in_se(&[16.0 + 1.0 / 12.0]);
    assert!(
        bias < SE && var < SE,
        "mean {bias:.2} SE, variance {var:.2} SE"
    );
    // Clipping: P(round(N(0, 16)) ≤ 1) = Φ(1.5 / 4) ≈ 0.646; P(round(N(101, 16)) ≥ 100) =
    // Φ(1.5 / 4) too.
    let p = 0.646_169;
    for (what, hits) in [("at 1", at_one), ("at 100", at_hundred)] {
        let e = rate_error_in_se(hits, 20_000, p);
        assert!(e < SE, "{what}: {hits}, {e:.2} SE");
    }
    // The paper's task, walking: every payoff an integer in [1, 100].
    let mut env = RestlessBandit::new(4, RestlessOptions::default(), &mut rng).unwrap();
    for t in 0..50_000 {
        let r = env.step(t % 4, &mut rng).unwrap().reward;
        assert!(
            r.fract() == 0.0 && (1.0..=100.0).contains(&r),
            "trial {t}: {r}"
        );
    }
    // Another range.
    let o = RestlessOptions {
        payoff_range: [-3, 3],
        ..fixed
    };
    let mut env = RestlessBandit::with_means(vec![0.0, 0.4], o).unwrap();
    for _ in 0..1_000 {
        let r = env.step(0, &mut rng).unwrap().reward;
        assert!(r.fract() == 0.0 && (-3.0..=3.0).contains(&r), "{r}");
    }
}

#[test]
fn restless_shape_reset_and_clone_from() {
    let mut rng = rng(34);
    let mut env = RestlessBandit::new(6, RestlessOptions::default(), &mut rng).unwrap();
    assert_eq!((env.n_states(), env.n_actions()), (1, 6));
    let means = env.means().to_vec();
    assert_eq!(env.reset(&mut rng), 0);
    assert_eq!(env.means(), means, "reset leaves the means");
    assert_eq!(env.step(5, &mut rng).unwrap().next_state, Some(0));
    let snapshot = env.clone();
    env.step(0, &mut rng).unwrap();
    assert_ne!(env, snapshot);
    env.clone_from(&snapshot);
    assert_eq!(env, snapshot);
    // Into a bandit of another size, too.
    let mut other = RestlessBandit::with_means(vec![1.0, 2.0], RestlessOptions::default()).unwrap();
    other.clone_from(&snapshot);
    assert_eq!(other, snapshot);
    assert_eq!(
        RestlessOptions {
            decay: 1.0,
            ..RestlessOptions::default()
        }
        .stationary_sd(),
        None
    );
}

#[test]
fn restless_refuses_bad_options_and_actions() {
    let d = RestlessOptions::default();
    let mut r = rng(35);
    for n in [0, 1, rlgrad::check::MAX_ACTIONS + 1, usize::MAX] {
        assert_invalid_option(RestlessBandit::new(n, d, &mut r), "n_arms");
    }
    assert!(RestlessBandit::new(2, d, &mut r).is_ok());
    assert_invalid_option(RestlessBandit::with_means(vec![50.0], d), "n_arms");
    for (o, name) in [
        (
            RestlessOptions {
                payoff_sd: -1.0,
                ..d
            },
            "payoff_sd",
        ),
        (
            RestlessOptions {
                payoff_sd: f64::NAN,
                ..d
            },
            "payoff_sd",
        ),
        (RestlessOptions { decay: 1.5, ..d }, "decay"),
        (RestlessOptions { decay: -0.1, ..d }, "decay"),
        (
            RestlessOptions {
                decay: f64::NAN,
                ..d
            },
            "decay",
        ),
        (
            RestlessOptions {
                center: f64::INFINITY,
                ..d
            },
            "center",
        ),
        (
            RestlessOptions {
                drift_sd: f64::NAN,
                ..d
            },
            "drift_sd",
        ),
        (
            RestlessOptions {
                drift_sd: -2.8,
                ..d
            },
            "drift_sd",
        ),
        (
            RestlessOptions {
                payoff_range: [100, 1],
                ..d
            },
            "payoff_range",
        ),
    ] {
        assert_invalid_option(RestlessBandit::new(4, o, &mut r), name);
        assert_invalid_option(RestlessBandit::with_means(vec![50.0; 4], o), name);
    }
    // No stationary distribution without decay: the means must be given.
    let no_decay = RestlessOptions { decay: 1.0, ..d };
    assert_invalid_option(RestlessBandit::new(4, no_decay, &mut r), "decay");
    assert!(RestlessBandit::with_means(vec![50.0; 4], no_decay).is_ok());
    for bad in [f64::NAN, f64::INFINITY] {
        assert_invalid_option(
            RestlessBandit::with_means(vec![50.0, bad], d),
            "mean of arm 1",
        );
    }
    let mut env = RestlessBandit::new(4, d, &mut r).unwrap();
    let before = env.clone();
    for a in [4, usize::MAX] {
        assert_out_of_range(env.step(a, &mut r), 4);
    }
    assert_eq!(env, before);
}

#[test]
fn restless_bandit_is_played_by_simulate() {
    let mut env = RestlessBandit::new(4, RestlessOptions::default(), &mut rng(36)).unwrap();
    // Payoffs are points (about 50): a small β, as fitted to them.
    let session = simulate(&mut env, 0.1, 300, 37);
    assert!(session.states().iter().all(|&s| s == 0));
    assert!(session.next_states().unwrap().iter().all(|&n| n == 0));
    assert!(
        session
            .rewards()
            .iter()
            .all(|&r| r.fract() == 0.0 && (1.0..=100.0).contains(&r))
    );
    // More than one arm is tried.
    assert!(session.actions().iter().any(|&a| a != session.actions()[0]));
}
