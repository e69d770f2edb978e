//! DRA training cost.
//!
//! - `dra_grid_world/trial`: one trial of the published grid-world preset (σ₀ = 3): the
//!   online episode with its expected-SARSA updates, 10 offline rollouts recorded with their
//!   scores, the REINFORCE estimate, the KL gradient and the clipped σ step; evaluation off.
//!   The agent is first trained for 2000 trials, so episodes have their trained length
//!   (about 20 steps). The bar: ≤ 50 µs per trial.
//! - `dra_planning/trial_B{3,24}`: one trial of the planning preset (M = 3) with a search
//!   budget of 3 and of 24 transitions, after 2000 trials.
//!
//! Run: `cargo bench --bench dra` (quick: `-- --warm-up-time 1 --measurement-time 2`).

use criterion::{Criterion, criterion_group, criterion_main};
use rlgrad::dra::{DraConfig, Trainer};
use rlgrad::env::{GridWorld, PlanningTask};
use std::hint::black_box;

const WARM_TRIALS: usize = 2000;

fn grid_world(c: &mut Criterion) {
    let mut config = DraConfig::grid_world_published(3.0);
    config.eval_every = usize::MAX;
    let task = GridWorld::paper();
    let mut trainer = Trainer::new(&task, &config, 1).unwrap();
    for _ in 0..WARM_TRIALS {
        trainer.run_trial().unwrap();
    }
    let mut group = c.benchmark_group("dra_grid_world");
    group.bench_function("trial", |b| {
        b.iter(|| black_box(trainer.run_trial().unwrap()))
    });
    group.finish();
}

fn planning(c: &mut Criterion) {
    let mut group = c.benchmark_group("dra_planning");
    for budget in [3usize, 24] {
        let mut config = DraConfig::planning();
        config.eval_every = usize::MAX;
        config.search_budget = Some(budget);
        let task = PlanningTask::new(3).unwrap();
        let mut trainer = Trainer::new(&task, &config, 1).unwrap();
        for _ in 0..WARM_TRIALS {
            trainer.run_trial().unwrap();
        }
        group.bench_function(format!("trial_B{budget}"), |b| {
            b.iter(|| black_box(trainer.run_trial().unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, grid_world, planning);
criterion_main!(benches);
