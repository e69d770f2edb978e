//! The DRA trainer (`rlgrad::dra`): configuration checks, reproducibility and pinned values,
//! fixed memories, equal precision, the environment change, snapshots, serde, faulty tasks,
//! the d′ analysis. The paper's claims on full runs are `#[ignore]`d (they take minutes):
//! `cargo test --release --test suite dra::claims -- --ignored --nocapture`.

use rand::Rng;
use rlgrad::Error;
use rlgrad::dra::dprime::{LinearFit, dprime_points};
use rlgrad::dra::{
    Allocation, BetaSchedule, CurveSummary, DraConfig, DraTask, Psi, QInit, Trainer, train,
    train_runs, train_with,
};
use rlgrad::env::{Environment, GridWorld, MountainCar, Outcome, PlanningTask};

/// A short grid-world run: 12 trials of 3 rollouts, evaluated every 4 over 3 episodes (the
/// first trials wander for hundreds of steps: this keeps the module fast in debug builds).
fn short_grid(sigma0: f64) -> DraConfig {
    let mut config = DraConfig::grid_world_published(sigma0);
    config.n_trials = 12;
    config.n_traj = 3;
    config.eval_every = 4;
    config.eval_episodes = 3;
    config
}

fn invalid_option_named(err: Error, name: &str) {
    match err {
        Error::InvalidOption { name: n, .. } => assert!(n.contains(name), "{n} for {name}"),
        other => panic!("{name}: expected InvalidOption, got {other:?}"),
    }
}

#[test]
fn bad_configurations_are_refused_naming_the_field() {
    type Edit = fn(&mut DraConfig);
    let cases: [(&str, Edit); 20] = [
        ("sigma0", |c| c.sigma0 = 0.0),
        ("sigma0", |c| c.sigma0 = -1.0),
        ("sigma0", |c| c.sigma0 = f64::NAN),
        ("sigma0", |c| c.sigma0 = 1000.0), // outside the clip range
        ("lambda", |c| c.lambda = -0.1),
        ("lambda", |c| c.lambda = f64::INFINITY),
        ("beta", |c| c.beta = BetaSchedule::Constant(0.0)),
        ("beta", |c| c.beta = BetaSchedule::Constant(f64::NAN)),
        ("beta base", |c| {
            c.beta = BetaSchedule::Annealed {
                base: -1.0,
                every: 1.0,
                max: 10.0,
            }
        }),
        ("n_traj", |c| c.n_traj = 0),
        ("sigma_clip", |c| c.sigma_clip = (10.0, 1.0)),
        ("sigma_min", |c| c.sigma_clip = (0.0, 1.0)),
        ("alpha_q", |c| c.alpha_q = 1.5),
        ("alpha_sigma", |c| c.alpha_sigma = 0.0),
        ("gamma", |c| c.gamma = 1.1),
        ("eval_every", |c| c.eval_every = 0),
        ("eval_episodes", |c| c.eval_episodes = 0),
        ("search_budget", |c| c.search_budget = Some(0)),
        ("q_init", |c| {
            c.q_init = QInit::Uniform { lo: 1.0, hi: -1.0 }
        }),
        ("n_trials", |c| c.n_trials = 0),
    ];
    for (name, edit) in cases {
        let mut config = short_grid(3.0);
        edit(&mut config);
        invalid_option_named(config.check().unwrap_err(), name);
        // Training refuses it the same way, before anything runs.
        invalid_option_named(train(&GridWorld::paper(), &config, 1).unwrap_err(), name);
    }
    assert!(train_runs(&GridWorld::paper(), &short_grid(3.0), &[], |_, _| {}).is_err());
}

#[test]
fn runs_are_reproducible_and_independent_of_parallelism() {
    let config = short_grid(3.0);
    let a = train(&GridWorld::paper(), &config, 11).unwrap();
    let b = train(&GridWorld::paper(), &config, 11).unwrap();
    assert_eq!(a, b);
    let runs = train_runs(&GridWorld::paper(), &config, &[5, 11], |_, _| {}).unwrap();
    assert_eq!(runs[1], a);
    assert_ne!(runs[0].curve, a.curve);
    // How often a run is evaluated does not change how it learns.
    let mut sparse = config.clone();
    sparse.eval_every = 5;
    let c = train(&GridWorld::paper(), &sparse, 11).unwrap();
    assert_eq!(c.sigma, a.sigma);
    assert_eq!(c.q_bar, a.q_bar);
    // The progress callback sees every trial once, in order.
    let mut seen = Vec::new();
    train_with(&GridWorld::paper(), &config, 11, |p| seen.push(p.trial)).unwrap();
    assert_eq!(seen, (0..12).collect::<Vec<_>>());
}

#[test]
fn the_curve_and_the_allocation_are_sane() {
    let log = train(&GridWorld::paper(), &short_grid(3.0), 3).unwrap();
    assert_eq!(
        log.curve.iter().map(|p| p.trial).collect::<Vec<_>>(),
        [0, 4, 8]
    );
    for p in &log.curve {
        assert!(p.return_mean.is_finite() && p.return_se >= 0.0);
        assert!(
            p.return_mean <= 10.0 - 13.0 + 1e-12,
            "no path is shorter than 14 steps"
        );
        assert!((p.objective - (p.return_mean - p.cost)).abs() < 1e-12);
        assert!(p.cost >= 0.0);
    }
    assert!(log.sigma.iter().all(|s| (0.01..=100.0).contains(s)));
    assert_eq!(log.truncated, 0);
    assert!(log.steps >= 12 * 4 * 14);
}

#[test]
fn planning_memories_of_the_last_move_stay_known_and_fixed() {
    let task = PlanningTask::new(3).unwrap();
    let mut config = DraConfig::planning();
    config.n_trials = 200;
    config.eval_every = 100;
    config.eval_episodes = 20;
    config.search_budget = Some(6);
    let log = train(&task, &config, 2).unwrap();
    for s in task.last_level_states() {
        for a in 0..2 {
            let i = 2 * s + a;
            assert!(log.fixed[i]);
            assert_eq!(log.sigma[i], 1.0);
            assert_eq!(log.q_bar[i], task.reward(s % 6, a).unwrap());
        }
    }
    assert_eq!(log.fixed.iter().filter(|f| **f).count(), 12);
    // The cost counts the free memories only: at σ = σ_base it would be 0.
    assert!(log.curve.iter().all(|p| p.cost.is_finite()));
}

#[test]
fn equal_precision_keeps_one_sigma() {
    let mut config = short_grid(3.0);
    config.allocation = Allocation::Equal;
    let log = train(&GridWorld::paper(), &config, 4).unwrap();
    assert!(
        log.sigma.iter().all(|&s| s == log.sigma[0]),
        "{:?}",
        &log.sigma[..8]
    );
    assert_ne!(log.sigma[0], 3.0);
}

#[test]
fn every_psi_form_trains() {
    for psi in Psi::ALL {
        let mut config = short_grid(3.0);
        config.psi = psi;
        let log = train(&GridWorld::paper(), &config, 6).unwrap();
        assert!(log.sigma.iter().all(|s| s.is_finite()), "{}", psi.name());
    }
}

#[test]
fn the_environment_change_and_snapshots() {
    let mut config = short_grid(3.0);
    config.change_at = Some(6);
    config.snapshots = vec![5, 11];
    let log = train(&GridWorld::paper(), &config, 8).unwrap();
    assert_eq!(
        log.snapshots.iter().map(|s| s.trial).collect::<Vec<_>>(),
        [5, 11]
    );
    assert_ne!(log.snapshots[0].q_bar, log.snapshots[1].q_bar);
    // After the change the goal at [0, 6] is reachable in 8 steps: returns can exceed −3.
    let after = log.curve.last().unwrap();
    assert!(after.return_mean <= 3.0 + 1e-12);
    // Mountain car has no change.
    let mut mc = DraConfig::mountain_car();
    mc.n_trials = 2;
    mc.change_at = Some(1);
    invalid_option_named(train(&MountainCar::new(), &mc, 1).unwrap_err(), "change_at");
}

#[test]
fn the_log_round_trips_through_json() {
    let log = train(&GridWorld::paper(), &short_grid(1.0), 9).unwrap();
    let json = serde_json::to_string(&log).unwrap();
    let back: rlgrad::dra::TrainingLog = serde_json::from_str(&json).unwrap();
    assert_eq!(back, log);
}

#[test]
fn summaries_have_mean_and_standard_error() {
    let logs = train_runs(&GridWorld::paper(), &short_grid(3.0), &[1, 2, 3], |_, _| {}).unwrap();
    let summary = CurveSummary::of(&logs).unwrap();
    for (i, o) in summary.objective.iter().enumerate() {
        let values: Vec<f64> = logs.iter().map(|l| l.curve[i].objective).collect();
        let mean = values.iter().sum::<f64>() / 3.0;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((o.mean - mean).abs() < 1e-12 && (o.se - sd / 3f64.sqrt()).abs() < 1e-12);
    }
    let mut other = short_grid(3.0);
    other.eval_every = 5;
    let odd = train(&GridWorld::paper(), &other, 1).unwrap();
    assert!(CurveSummary::of(&[logs[0].clone(), odd]).is_err());
    assert!(CurveSummary::of(&[]).is_err());
}

/// A one-state task whose step can be made faulty.
#[derive(Clone, Debug)]
struct Faulty {
    reward: f64,
    next: Option<usize>,
}

impl Environment for Faulty {
    fn n_states(&self) -> usize {
        1
    }
    fn n_actions(&self) -> usize {
        2
    }
    fn reset<R: Rng + ?Sized>(&mut self, _: &mut R) -> usize {
        0
    }
    fn step<R: Rng + ?Sized>(&mut self, action: usize, _: &mut R) -> rlgrad::Result<Outcome> {
        rlgrad::check::index("action", action, 2)?;
        Ok(Outcome {
            reward: self.reward,
            next_state: self.next,
        })
    }
}

impl DraTask for Faulty {}

#[test]
fn a_faulty_task_is_an_error_not_a_panic_or_nan() {
    let mut config = short_grid(3.0);
    config.max_steps = 50;
    let nan = Faulty {
        reward: f64::NAN,
        next: None,
    };
    assert!(matches!(
        train(&nan, &config, 1).unwrap_err(),
        Error::NonFiniteInput { .. }
    ));
    let jump = Faulty {
        reward: 1.0,
        next: Some(3),
    };
    assert!(matches!(
        train(&jump, &config, 1).unwrap_err(),
        Error::IndexOutOfRange { index: 3, .. }
    ));
    // An episode that never ends is cut at max_steps and counted.
    let endless = Faulty {
        reward: -1.0,
        next: Some(0),
    };
    let log = train(&endless, &config, 1).unwrap();
    assert!(log.truncated >= 12 * 4);
    assert!((log.curve[0].return_mean + 50.0).abs() < 1e-12);
}

#[test]
fn the_trainer_steps_past_its_configured_trials() {
    let config = short_grid(3.0);
    let mut trainer = Trainer::new(&GridWorld::paper(), &config, 1).unwrap();
    for _ in 0..13 {
        trainer.run_trial().unwrap();
    }
    assert_eq!(trainer.trials_done(), 13);
    assert_eq!(trainer.into_log().curve.len(), 4);
}

#[test]
fn dprime_analysis() {
    let fit = LinearFit::of(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]).unwrap();
    assert!((fit.slope - 2.0).abs() < 1e-14 && (fit.intercept - 1.0).abs() < 1e-14);
    assert!(fit.slope_se < 1e-12 && (fit.r2 - 1.0).abs() < 1e-14);
    assert!(LinearFit::of(&[1.0], &[1.0]).is_err());
    assert!(LinearFit::of(&[1.0, 1.0], &[1.0, 2.0]).is_err());
    assert!(LinearFit::of(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
    assert!(LinearFit::of(&[1.0, 2.0], &[1.0]).is_err());

    let task = PlanningTask::new(4).unwrap();
    let q_star = task.optimal_values();
    let sigma: Vec<f64> = (0..q_star.len()).map(|i| 1.0 + i as f64).collect();
    let points = dprime_points(&task, &q_star, 10.0, &sigma).unwrap();
    assert_eq!(points.len(), 18);
    for level in 0..3 {
        let reach: f64 = points
            .iter()
            .filter(|p| p.level == level)
            .map(|p| p.reach)
            .sum();
        assert!((reach - 1.0).abs() < 1e-12, "level {level}: {reach}");
    }
    for p in &points {
        let s = p.state;
        let gap = (q_star[2 * s] - q_star[2 * s + 1]).abs();
        assert!(
            (p.dprime - gap / (sigma[2 * s].powi(2) + sigma[2 * s + 1].powi(2)).sqrt()).abs()
                < 1e-12
        );
        assert!((p.impact - p.reach * gap).abs() < 1e-12);
    }
    assert!(dprime_points(&task, &q_star, 10.0, &sigma[1..]).is_err());
    let mut bad = sigma.clone();
    bad[3] = 0.0;
    assert!(dprime_points(&task, &q_star, 10.0, &bad).is_err());
}

/// The paper's qualitative claims (spec §7) on shortened runs. Minutes in release mode.
mod claims {
    use super::*;

    /// Grid world: starting with more resources than needed (σ₀ < σ_base) reaches the
    /// plateau sooner than σ₀ = σ_base; the memories along the shortest route are the
    /// precise ones.
    #[test]
    #[ignore = "a reproduction: about a minute in release mode"]
    fn grid_world_starts_faster_with_more_resources() {
        let seeds = [1, 2, 3, 4, 5];
        let mut first = Vec::new();
        for sigma0 in [1.0, 5.0] {
            let config = DraConfig::grid_world_published(sigma0);
            let logs = train_runs(&GridWorld::paper(), &config, &seeds, |_, _| {}).unwrap();
            let within: Vec<f64> = logs
                .iter()
                .map(|l| l.first_within(1.0, 10).unwrap() as f64)
                .collect();
            let mean = within.iter().sum::<f64>() / within.len() as f64;
            println!("sigma0 {sigma0}: first within 1 of the plateau at {within:?} (mean {mean})");
            first.push(mean);
        }
        assert!(first[0] < first[1], "{first:?}");
    }

    /// Distances from `from` by breadth-first search over the free cells of `world`.
    fn distances(world: &GridWorld, from: [usize; 2]) -> Vec<Option<usize>> {
        let (rows, cols) = (world.rows(), world.cols());
        let mut dist = vec![None; rows * cols];
        let mut queue = std::collections::VecDeque::from([(from, 0)]);
        dist[from[0] * cols + from[1]] = Some(0);
        while let Some((c, d)) = queue.pop_front() {
            let steps = [[-1i64, 0], [1, 0], [0, -1], [0, 1]];
            for [dr, dc] in steps {
                let (r, k) = (c[0] as i64 + dr, c[1] as i64 + dc);
                if r < 0 || k < 0 || r >= rows as i64 || k >= cols as i64 {
                    continue;
                }
                let n = [r as usize, k as usize];
                if world.is_obstacle(n) || dist[n[0] * cols + n[1]].is_some() {
                    continue;
                }
                dist[n[0] * cols + n[1]] = Some(d + 1);
                queue.push_back((n, d + 1));
            }
        }
        dist
    }

    /// The cells on some shortest route from start to goal (the goal excluded: no decision
    /// is made there).
    fn route(world: &GridWorld) -> Vec<bool> {
        let (from_start, to_goal) = (
            distances(world, world.start()),
            distances(world, world.goal()),
        );
        let best = from_start[world.goal()[0] * world.cols() + world.goal()[1]].unwrap();
        (0..from_start.len())
            .map(|i| match (from_start[i], to_goal[i]) {
                (Some(a), Some(b)) => a + b == best && b > 0,
                _ => false,
            })
            .collect()
    }

    /// Mean over cells of the most precise memory of the cell (min σ over its actions).
    fn mean_min_sigma(sigma: &[f64], cells: impl Iterator<Item = usize>) -> f64 {
        let v: Vec<f64> = cells
            .map(|c| {
                sigma[4 * c..4 * c + 4]
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    }

    /// The cells of the agent's greedy route (argmax q̄ from the start) up to the goal.
    fn greedy_route(world: &GridWorld, q_bar: &[f64]) -> Vec<usize> {
        use rand::SeedableRng;
        let mut env = world.clone();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut s = env.reset(&mut rng);
        let mut cells = vec![s];
        for _ in 0..100 {
            let q = &q_bar[4 * s..4 * s + 4];
            let a = (0..4).fold(0, |b, j| if q[j] > q[b] { j } else { b });
            match env.step(a, &mut rng).unwrap().next_state {
                Some(next) => {
                    s = next;
                    if !cells.contains(&s) {
                        cells.push(s);
                    }
                }
                None => break,
            }
        }
        cells
    }

    /// Grid world: the precise memories lie along the shortest route, and after the
    /// environment change precision moves with the agent's route: the cells its route gains
    /// become more precise, the cells it leaves less.
    #[test]
    #[ignore = "a reproduction: about a minute in release mode"]
    fn grid_world_precision_follows_the_route() {
        let (before, after) = (GridWorld::paper(), GridWorld::paper_changed());
        let old_route = route(&before);
        assert!(old_route.iter().filter(|x| **x).count() >= 14);
        let free =
            |c: usize| !before.is_obstacle([c / 9, c % 9]) && [c / 9, c % 9] != before.goal();
        let mut config = DraConfig::grid_world_published(3.0);
        config.n_trials = 10_000;
        config.change_at = Some(5000);
        config.snapshots = vec![4999, 9999];
        config.eval_every = 1000;
        let logs = train_runs(&before, &config, &[1, 2, 3], |_, _| {}).unwrap();
        for log in &logs {
            let (s0, s1) = (&log.snapshots[0], &log.snapshots[1]);
            let on = mean_min_sigma(&s0.sigma, (0..54).filter(|&c| old_route[c]));
            let off = mean_min_sigma(&s0.sigma, (0..54).filter(|&c| !old_route[c] && free(c)));
            let (r0, r1) = (
                greedy_route(&before, &s0.q_bar),
                greedy_route(&after, &s1.q_bar),
            );
            let gained: Vec<usize> = r1.iter().copied().filter(|c| !r0.contains(c)).collect();
            let lost: Vec<usize> = r0.iter().copied().filter(|c| !r1.contains(c)).collect();
            let at = |s: &[f64], cells: &[usize]| mean_min_sigma(s, cells.iter().copied());
            println!(
                "seed {}: before the change, min sigma on the shortest route {on:.2}, off it \
                 {off:.2}; the route gained {} cells (min sigma {:.2} -> {:.2}) and left {} \
                 ({:.2} -> {:.2}); final return {:.2} (the new shortest route returns +3)",
                log.seed,
                gained.len(),
                at(&s0.sigma, &gained),
                at(&s1.sigma, &gained),
                lost.len(),
                at(&s0.sigma, &lost),
                at(&s1.sigma, &lost),
                log.last().unwrap().return_mean,
            );
            assert!(on < off, "seed {}: on {on} off {off}", log.seed);
            assert!(!gained.is_empty() && !lost.is_empty(), "seed {}", log.seed);
            assert!(
                at(&s1.sigma, &gained) < at(&s0.sigma, &gained),
                "seed {}",
                log.seed
            );
            assert!(
                at(&s1.sigma, &lost) > at(&s0.sigma, &lost),
                "seed {}",
                log.seed
            );
        }
    }
}
