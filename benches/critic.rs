//! Critic cost: one normalised replay update over a full buffer (full gradient, every weight
//! trained) for n ∈ {3, 8} features (raw z with a bias, so z has n − 1 entries),
//! p ∈ {8, 32, 128} tanh units and M ∈ {32, 256} transitions; and Q̂ with its gradient for
//! each (n, p). Throughput is set to M transitions for the update, so criterion's "elem/s"
//! is transitions per second.
//!
//! Run: `cargo bench --bench critic` (quick: `-- --warm-up-time 1 --measurement-time 2`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Transition};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("critic_update");
    for n in [3usize, 8] {
        for p in [8usize, 32, 128] {
            let critic = ShallowCritic::new(n - 1, p, Activation::Tanh).unwrap();
            for m in [32usize, 256] {
                let mut buffer = ReplayBuffer::new(m, n - 1).unwrap();
                for k in 0..m {
                    let z = Array1::from_shape_fn(n - 1, |_| rng.random_range(-1.0..1.0));
                    let zn = Array1::from_shape_fn(n - 1, |_| rng.random_range(-1.0..1.0));
                    let r = rng.random_range(-1.0..1.0);
                    let t = if k % 10 == 9 {
                        Transition::terminal(z.view(), r)
                    } else {
                        Transition::new(z.view(), r, zn.view())
                    };
                    buffer.push(t).unwrap();
                }
                // A tiny step keeps ω (and so the work) essentially the same across
                // iterations.
                let update = NormalizedUpdate::new(1e-9, 0.9).unwrap();
                let mut omega = critic.random_weights(&mut rng);
                let mut ws = critic.workspace();
                group.throughput(Throughput::Elements(m as u64));
                group.bench_with_input(BenchmarkId::new(format!("n{n}_p{p}"), m), &m, |b, _| {
                    b.iter(|| {
                        black_box(
                            update
                                .apply(&critic, &buffer, omega.view_mut(), &mut ws)
                                .unwrap(),
                        )
                    })
                });
            }
        }
    }
    group.finish();

    let mut group = c.benchmark_group("critic_value_grad");
    for n in [3usize, 8] {
        for p in [8usize, 32, 128] {
            let critic = ShallowCritic::new(n - 1, p, Activation::Tanh).unwrap();
            let omega = critic.random_weights(&mut rng);
            let z = Array1::from_shape_fn(n - 1, |_| rng.random_range(-1.0..1.0));
            let mut grad = Array1::zeros(critic.dim());
            let mut ws = critic.workspace();
            group.bench_with_input(BenchmarkId::new(format!("n{n}"), p), &p, |b, _| {
                b.iter(|| {
                    black_box(
                        critic
                            .value_and_grad(
                                black_box(omega.view()),
                                z.view(),
                                grad.view_mut(),
                                &mut ws,
                            )
                            .unwrap(),
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
