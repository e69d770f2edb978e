//! The task environments of the DRA paper (spec §6): grid world, mountain car and the planning
//! task. Facts of the spec are checked against independent computations (a brute-force
//! search over action sequences for the planning task, breadth-first paths played out in the
//! grid world).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::Error;
use rlgrad::env::{Environment, GridWorld, MountainCar, Outcome, PlanningTask};

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}

const UP: usize = 0;
const DOWN: usize = 1;
const LEFT: usize = 2;
const RIGHT: usize = 3;

/// Plays `actions` from the start; the return, and whether the last action ended the episode
/// (and only the last).
fn play(env: &mut GridWorld, actions: &[usize]) -> (f64, bool) {
    let mut rng = rng();
    env.reset(&mut rng);
    let mut total = 0.0;
    for (i, &a) in actions.iter().enumerate() {
        let out = env.step(a, &mut rng).unwrap();
        total += out.reward;
        if out.next_state.is_none() {
            return (total, i + 1 == actions.len());
        }
    }
    (total, false)
}

#[test]
fn grid_world_paper_layout() {
    let env = GridWorld::paper();
    assert_eq!((env.rows(), env.cols()), (6, 9));
    assert_eq!((env.n_states(), env.n_actions()), (54, 4));
    assert_eq!((env.start(), env.goal()), ([2, 0], [0, 8]));
    let obstacles: Vec<[usize; 2]> = (0..54)
        .map(|s| env.cell_of(s).unwrap())
        .filter(|&c| env.is_obstacle(c))
        .collect();
    assert_eq!(
        obstacles,
        [[0, 7], [1, 2], [1, 7], [2, 2], [2, 7], [3, 2], [4, 5]]
    );
    assert_eq!(env.state_of(2, 0).unwrap(), 18);
    assert_eq!(env.cell_of(17).unwrap(), [1, 8]);
    assert!(!env.is_obstacle([6, 0]) && !env.is_obstacle([0, 9]));
}

#[test]
fn grid_world_shortest_paths_before_and_after_the_change() {
    let mut env = GridWorld::paper();
    assert_eq!(env.shortest_path_len(), Some(14));
    // One shortest route, played out: down round the wall at column 2, up to row 3, right to
    // column 8 under the wall at column 7, then up to the goal.
    let route = [
        DOWN, DOWN, RIGHT, RIGHT, RIGHT, UP, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, UP, UP, UP,
    ];
    assert_eq!(route.len(), 14);
    assert_eq!(play(&mut env, &route), (-3.0, true));

    assert!(env.apply_change() && env.is_changed());
    assert_eq!((env.goal(), env.shortest_path_len()), ([0, 6], Some(8)));
    assert!(!env.is_obstacle([0, 7]) && env.is_obstacle([1, 7]));
    let route = [UP, UP, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT];
    assert_eq!(play(&mut env, &route), (3.0, true));
    env.reset(&mut rng());
    assert_eq!(env, GridWorld::paper_changed());
    // Applying the change again restores the world.
    assert!(env.apply_change() && !env.is_changed());
    assert_eq!(env.shortest_path_len(), Some(14));
    // A world without a change has none to apply.
    let mut plain = GridWorld::new(2, 2, [0, 0], [1, 1], &[]).unwrap();
    assert!(!plain.apply_change() && !plain.is_changed());
    assert_eq!(plain.shortest_path_len(), Some(2));
}

#[test]
fn grid_world_bumps_goal_and_reset() {
    let mut env = GridWorld::paper();
    let mut rng = rng();
    let start = env.reset(&mut rng);
    assert_eq!(start, env.state_of(2, 0).unwrap());
    // Left border: stay, −1.
    let out = env.step(LEFT, &mut rng).unwrap();
    assert_eq!(
        out,
        Outcome {
            reward: -1.0,
            next_state: Some(start)
        }
    );
    // Right into the obstacle [2, 2] from [2, 1]: stay, −1.
    let at_21 = env.step(RIGHT, &mut rng).unwrap().next_state;
    assert_eq!(at_21, Some(env.state_of(2, 1).unwrap()));
    let out = env.step(RIGHT, &mut rng).unwrap();
    assert_eq!(
        out,
        Outcome {
            reward: -1.0,
            next_state: at_21
        }
    );
    // Top border from [0, 1].
    env.step(UP, &mut rng).unwrap();
    env.step(UP, &mut rng).unwrap();
    let out = env.step(UP, &mut rng).unwrap();
    assert_eq!(out.next_state, Some(env.state_of(0, 1).unwrap()));
    assert_eq!(out.reward, -1.0);
    // Entering the goal: +10 and the end, from [1, 8].
    let mut small = GridWorld::new(2, 9, [1, 0], [0, 8], &[]).unwrap();
    small.reset(&mut rng);
    for _ in 0..8 {
        assert_eq!(small.step(RIGHT, &mut rng).unwrap().reward, -1.0);
    }
    let out = small.step(UP, &mut rng).unwrap();
    assert_eq!(
        out,
        Outcome {
            reward: 10.0,
            next_state: None
        }
    );
    assert_eq!(small.reset(&mut rng), small.state_of(1, 0).unwrap());
}

#[test]
fn grid_world_refuses_bad_actions_and_worlds() {
    let mut env = GridWorld::paper();
    let mut rng = rng();
    env.reset(&mut rng);
    for a in [4, usize::MAX] {
        let err = env.step(a, &mut rng).unwrap_err();
        assert!(
            matches!(err, Error::IndexOutOfRange { limit: 4, .. }),
            "{err:?}"
        );
    }
    assert_eq!(env.state(), env.state_of(2, 0).unwrap());

    let invalid = |r: rlgrad::Result<GridWorld>, name: &str, value: &str| {
        let err = r.unwrap_err();
        match &err {
            Error::InvalidOption {
                name: n, value: v, ..
            } => {
                assert_eq!((n.as_str(), v.as_str()), (name, value), "{err}")
            }
            _ => panic!("expected InvalidOption, got {err:?}"),
        }
    };
    invalid(GridWorld::new(0, 3, [0, 0], [0, 1], &[]), "rows", "0");
    invalid(GridWorld::new(3, 0, [0, 0], [0, 1], &[]), "cols", "0");
    invalid(GridWorld::new(3, 3, [3, 0], [0, 1], &[]), "start", "[3, 0]");
    invalid(GridWorld::new(3, 3, [0, 0], [0, 3], &[]), "goal", "[0, 3]");
    invalid(GridWorld::new(3, 3, [0, 0], [0, 0], &[]), "goal", "[0, 0]");
    invalid(
        GridWorld::new(3, 3, [0, 0], [0, 1], &[[0, 1]]),
        "goal",
        "[0, 1]",
    );
    invalid(
        GridWorld::new(3, 3, [0, 0], [0, 2], &[[0, 0]]),
        "obstacles[0]",
        "[0, 0]",
    );
    invalid(
        GridWorld::new(3, 3, [0, 0], [0, 2], &[[1, 1], [5, 5]]),
        "obstacles[1]",
        "[5, 5]",
    );
    // Walled off: unreachable.
    invalid(
        GridWorld::new(3, 3, [0, 0], [2, 2], &[[0, 1], [1, 0], [1, 1]]),
        "goal",
        "[2, 2]",
    );
    // Sizes: the cell count times 4 memories is capped, with checked arithmetic.
    let max = rlgrad::check::MAX_FLOATS;
    invalid(
        GridWorld::new(usize::MAX, 2, [0, 0], [0, 1], &[]),
        "rows x cols",
        &format!("{} x 2", usize::MAX),
    );
    invalid(
        GridWorld::new(max / 4, 2, [0, 0], [0, 1], &[]),
        "rows x cols",
        &format!("{} x 2", max / 4),
    );
    assert!(GridWorld::new(1, 2, [0, 0], [0, 1], &[]).is_ok());
    // The change is validated like the world.
    let base = || GridWorld::new(3, 3, [0, 0], [2, 2], &[]).unwrap();
    invalid(base().with_change([0, 0], &[]), "changed goal", "[0, 0]");
    invalid(
        base().with_change([1, 1], &[[1, 1]]),
        "changed goal",
        "[1, 1]",
    );
    invalid(
        base().with_change([1, 1], &[[0, 0]]),
        "changed obstacles[0]",
        "[0, 0]",
    );
    // Accessors refuse what is outside the grid.
    assert!(matches!(
        env.state_of(6, 0),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        env.state_of(0, 9),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        env.cell_of(54),
        Err(Error::IndexOutOfRange { .. })
    ));
}

#[test]
fn grid_world_clone_from_restores_a_snapshot() {
    let mut rng = rng();
    let mut snapshot = GridWorld::paper();
    snapshot.reset(&mut rng);
    snapshot.step(DOWN, &mut rng).unwrap();
    let mut rollout = GridWorld::paper_changed();
    rollout.clone_from(&snapshot);
    assert_eq!(rollout, snapshot);
    assert_eq!(
        rollout.step(DOWN, &mut rng).unwrap(),
        snapshot.clone().step(DOWN, &mut rng).unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// Mountain car
// ---------------------------------------------------------------------------------------

/// Runs a policy of (p, v) from `(p, 0)` until the episode ends; the number of steps and
/// whether the goal was reached.
fn drive(env: &mut MountainCar, p: f64, policy: impl Fn(f64, f64) -> usize) -> (usize, bool) {
    let mut rng = rng();
    env.reset_to(p, 0.0).unwrap();
    let mut steps = 0;
    loop {
        steps += 1;
        let a = policy(env.position(), env.velocity());
        if env.step(a, &mut rng).unwrap().next_state.is_none() {
            return (steps, env.position() >= 0.5);
        }
    }
}

#[test]
fn mountain_car_discretisation() {
    let env = MountainCar::new();
    assert_eq!((env.n_states(), env.n_actions()), (285, 3));
    assert_eq!(env.state_of(-1.2, -0.07).unwrap(), 0);
    assert_eq!(env.state_of(0.6, 0.07).unwrap(), 284);
    assert_eq!(env.state_of(0.6, -0.07).unwrap(), 18 * 15);
    assert_eq!(env.state_of(-1.2, 0.07).unwrap(), 14);
    assert_eq!(env.state_of(-0.5, 0.0).unwrap(), 7 * 15 + 7);
    for (p, v, name) in [
        (0.61, 0.0, "position"),
        (-1.21, 0.0, "position"),
        (f64::NAN, 0.0, "position"),
        (0.0, 0.071, "velocity"),
        (0.0, f64::NEG_INFINITY, "velocity"),
    ] {
        let err = env.state_of(p, v).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { name: n, .. } if n == name),
            "{err:?}"
        );
    }
}

#[test]
fn mountain_car_one_step_by_hand() {
    let mut env = MountainCar::new();
    let mut rng = rng();
    env.reset_to(-0.5, 0.0).unwrap();
    let out = env.step(2, &mut rng).unwrap();
    // v = 0 + 0.001 − 0.0025 cos(−1.5) = 0.000823156995830743, p = −0.5 + v.
    let v = 0.001 - 0.0025 * 0.070_737_201_667_702_9;
    assert!((env.velocity() - v).abs() < 1e-15, "{}", env.velocity());
    assert!(
        (env.position() - (-0.5 + v)).abs() < 1e-15,
        "{}",
        env.position()
    );
    assert_eq!(out.reward, -1.0);
    assert_eq!(out.next_state, Some(env.state_of(-0.5 + v, v).unwrap()));
    assert_eq!(env.steps(), 1);
    // Out-of-range actions are errors, and move nothing.
    let before = env;
    for a in [3, usize::MAX] {
        let err = env.step(a, &mut rng).unwrap_err();
        assert!(
            matches!(err, Error::IndexOutOfRange { limit: 3, .. }),
            "{err:?}"
        );
    }
    assert_eq!(env, before);
}

#[test]
fn mountain_car_stops_at_the_left_wall() {
    let mut env = MountainCar::new();
    let mut rng = rng();
    env.reset_to(-1.15, -0.07).unwrap();
    let out = env.step(0, &mut rng).unwrap();
    assert_eq!((env.position(), env.velocity()), (-1.2, 0.0));
    assert_eq!(out.next_state, Some(env.state_of(-1.2, 0.0).unwrap()));
    // The speed is clipped at 0.07: at p = −π/6 gravity vanishes, and 0.07 + 0.001 is cut.
    env.reset_to(-std::f64::consts::FRAC_PI_6, 0.07).unwrap();
    env.step(2, &mut rng).unwrap();
    assert_eq!(env.velocity(), 0.07);
}

#[test]
fn mountain_car_energy_pumping_reaches_the_goal_from_every_start() {
    let mut env = MountainCar::new();
    for i in 0..=40 {
        let p = -0.6 + 0.2 * i as f64 / 40.0;
        let (steps, reached) = drive(&mut env, p, |_, v| if v >= 0.0 { 2 } else { 0 });
        assert!(reached && steps <= 200, "start {p}: {steps} steps");
    }
}

#[test]
fn mountain_car_always_right_times_out_and_limits_are_configurable() {
    let mut env = MountainCar::new();
    assert_eq!(env.time_limit(), 200);
    let (steps, reached) = drive(&mut env, -0.5, |_, _| 2);
    assert_eq!((steps, reached), (200, false));
    let mut short = MountainCar::new().with_time_limit(5).unwrap();
    assert_eq!(
        drive(&mut short, -0.5, |_, v| if v >= 0.0 { 2 } else { 0 }),
        (5, false)
    );
    assert!(matches!(
        MountainCar::new().with_time_limit(0),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn mountain_car_reset_draws_the_start() {
    let mut env = MountainCar::new();
    let mut rng = rng();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for _ in 0..1000 {
        env.step(2, &mut rng).unwrap();
        let s = env.reset(&mut rng);
        let p = env.position();
        assert!((-0.6..=-0.4).contains(&p) && env.velocity() == 0.0 && env.steps() == 0);
        assert_eq!(s, env.state_of(p, 0.0).unwrap());
        lo = lo.min(p);
        hi = hi.max(p);
    }
    assert!(lo < -0.59 && hi > -0.41, "{lo} {hi}");
    assert!(env.reset_to(0.7, 0.0).is_err() && env.reset_to(0.0, 0.1).is_err());
}

// ---------------------------------------------------------------------------------------
// Planning task
// ---------------------------------------------------------------------------------------

/// The best return over all 2^M action sequences from `node`, by playing each one in the
/// environment itself (independent of the backward induction).
fn brute_force_best(moves: usize, node: usize, first: Option<usize>) -> f64 {
    let mut env = PlanningTask::new(moves).unwrap();
    let mut rng = rng();
    let mut best = f64::NEG_INFINITY;
    for bits in 0..1usize << moves {
        if first.is_some_and(|a| bits & 1 != a) {
            continue;
        }
        env.reset_to(node).unwrap();
        let mut total = 0.0;
        for k in 0..moves {
            let out = env.step((bits >> k) & 1, &mut rng).unwrap();
            total += out.reward;
            assert_eq!(out.next_state.is_none(), k + 1 == moves);
        }
        best = best.max(total);
    }
    best
}

#[test]
fn planning_best_return_from_node_one_is_100() {
    let env = PlanningTask::new(3).unwrap();
    assert_eq!(env.optimal_return(0).unwrap(), 100.0);
    // The path 1 → 2 → 3 → 4 of the paper (indices 0 → 1 → 2 → 3), played out.
    let mut env = env.with_start(0).unwrap();
    let mut rng = rng();
    assert_eq!(env.reset(&mut rng), 0);
    let mut total = 0.0;
    let mut nodes = vec![];
    for _ in 0..3 {
        total += env.step(0, &mut rng).unwrap().reward;
        nodes.push(env.node());
    }
    assert_eq!((total, nodes), (100.0, vec![1, 2, 3]));
}

#[test]
fn planning_table_of_the_paper() {
    let env = PlanningTask::new(3).unwrap();
    // (paper node, action) → (paper successor, reward).
    let table = [
        (1, 2, 140.0, 4, 20.0),
        (2, 3, -20.0, 5, -70.0),
        (3, 4, -20.0, 6, -70.0),
        (4, 2, 20.0, 5, -20.0),
        (5, 1, -70.0, 6, -20.0),
        (6, 1, -20.0, 3, 20.0),
    ];
    for (node, s0, r0, s1, r1) in table {
        let i = node - 1;
        assert_eq!(env.successor(i, 0).unwrap(), s0 - 1);
        assert_eq!(env.successor(i, 1).unwrap(), s1 - 1);
        assert_eq!(env.reward(i, 0).unwrap(), r0);
        assert_eq!(env.reward(i, 1).unwrap(), r1);
    }
}

#[test]
fn planning_q_star_matches_brute_force() {
    for moves in 1..=6 {
        let env = PlanningTask::new(moves).unwrap();
        assert_eq!((env.n_states(), env.n_actions()), (6 * moves, 2));
        let q = env.optimal_values();
        assert_eq!(q.len(), 6 * moves * 2);
        for node in 0..6 {
            // Level 0: Q*(node, a) is the best return whose first action is a.
            for a in 0..2 {
                let s = env.state_of(0, node).unwrap();
                assert_eq!(
                    q[2 * s + a],
                    brute_force_best(moves, node, Some(a)),
                    "M {moves} node {node}"
                );
            }
            assert_eq!(
                env.optimal_return(node).unwrap(),
                brute_force_best(moves, node, None)
            );
            // Level k: the best of the M − k moves left.
            for k in 0..moves {
                let s = env.state_of(k, node).unwrap();
                let v = q[2 * s].max(q[2 * s + 1]);
                assert_eq!(
                    v,
                    brute_force_best(moves - k, node, None),
                    "M {moves} k {k}"
                );
                assert_eq!(
                    (env.level_of(s).unwrap(), env.node_of(s).unwrap()),
                    (k, node)
                );
            }
        }
    }
}

#[test]
fn planning_last_level_holds_the_immediate_rewards() {
    for moves in [1, 3, 5] {
        let env = PlanningTask::new(moves).unwrap();
        let q = env.optimal_values();
        let last = env.last_level_states();
        assert_eq!(last, 6 * (moves - 1)..6 * moves);
        for s in 0..env.n_states() {
            assert_eq!(env.is_last_level(s), last.contains(&s));
        }
        assert!(!env.is_last_level(env.n_states()));
        for s in last {
            let node = env.node_of(s).unwrap();
            for a in 0..2 {
                assert_eq!(q[2 * s + a], env.reward(node, a).unwrap());
            }
        }
    }
}

#[test]
fn planning_episodes_have_exactly_m_moves() {
    let mut env = PlanningTask::new(4).unwrap();
    let mut rng = rng();
    for _ in 0..20 {
        let mut s = env.reset(&mut rng);
        assert_eq!(env.level_of(s).unwrap(), 0);
        for k in 1..=4 {
            let out = env.step(k % 2, &mut rng).unwrap();
            match out.next_state {
                Some(next) => {
                    assert!(k < 4);
                    assert_eq!(env.level_of(next).unwrap(), k);
                    assert_eq!(env.node_of(next).unwrap(), env.node());
                    s = next;
                }
                None => assert_eq!(k, 4),
            }
        }
        let _ = s;
    }
}

#[test]
fn planning_reset_start_is_uniform() {
    let mut env = PlanningTask::new(3).unwrap();
    let mut rng = rng();
    const N: usize = 60_000;
    let mut counts = [0usize; 6];
    for _ in 0..N {
        counts[env.reset(&mut rng)] += 1;
    }
    // Each count is Binomial(N, 1/6): mean 10 000, SE √(N · 1/6 · 5/6) ≈ 91.3. Within 4 SE,
    // and Pearson's χ² with 5 degrees of freedom below 20.5 (its 0.999 quantile).
    let expected = N as f64 / 6.0;
    let se = (N as f64 / 6.0 * 5.0 / 6.0).sqrt();
    let mut chi2 = 0.0;
    for c in counts {
        let d = c as f64 - expected;
        assert!(d.abs() < 4.0 * se, "{counts:?}");
        chi2 += d * d / expected;
    }
    assert!(chi2 < 20.5, "chi2 {chi2}, counts {counts:?}");
    // A fixed start draws nothing.
    let mut fixed = env.with_start(4).unwrap();
    assert_eq!(fixed.start(), Some(4));
    assert!((0..100).all(|_| fixed.reset(&mut rng) == 4));
}

#[test]
fn planning_refuses_bad_input() {
    for m in [0, PlanningTask::MAX_MOVES + 1, usize::MAX] {
        let err = PlanningTask::new(m).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { name, value, .. } if name == "moves" && *value == m.to_string()),
            "{err:?}"
        );
    }
    assert!(PlanningTask::new(PlanningTask::MAX_MOVES).is_ok());
    let mut env = PlanningTask::new(3).unwrap();
    let mut rng = rng();
    env.reset(&mut rng);
    let before = env;
    for a in [2, usize::MAX] {
        let err = env.step(a, &mut rng).unwrap_err();
        assert!(
            matches!(err, Error::IndexOutOfRange { limit: 2, .. }),
            "{err:?}"
        );
    }
    assert_eq!(env, before);
    let oor = |r: rlgrad::Result<usize>| matches!(r, Err(Error::IndexOutOfRange { .. }));
    assert!(oor(env.reset_to(6)) && oor(env.successor(6, 0)) && oor(env.successor(0, 2)));
    assert!(oor(env.state_of(3, 0)) && oor(env.state_of(0, 6)));
    assert!(oor(env.level_of(18)) && oor(env.node_of(18)));
    assert!(matches!(
        env.reward(0, 2),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        env.optimal_return(6),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        env.with_start(6),
        Err(Error::IndexOutOfRange { .. })
    ));
}
