//! MAP fit of a cohort of 100 subjects × 200 trials (RW + softmax, two-armed reversal
//! bandit), on one thread and on all threads of the machine.
//!
//! Run: `cargo bench --bench fit`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::prelude::*;
use std::hint::black_box;

#[path = "../tests/common/cohort.rs"]
mod cohort;

use cohort::bench_cohort;

fn bench(c: &mut Criterion) {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let data = bench_cohort(&model);
    let prior = MvGaussian::isotropic(2, 0.0, 4.0).unwrap();
    let mut group = c.benchmark_group("map_100x200");
    group.sample_size(20);
    let serial = MapOptions {
        parallel: false,
        ..MapOptions::default()
    };
    let parallel = MapOptions::default();
    for (name, options) in [
        ("one_thread".to_string(), serial),
        (
            format!("{}_threads", rayon::current_num_threads()),
            parallel,
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    rlgrad::fit::map(
                        &model,
                        &data,
                        &prior,
                        &options,
                        &mut ChaCha8Rng::seed_from_u64(4),
                    )
                    .unwrap(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
