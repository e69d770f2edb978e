//! With a workspace made once, the critic's evaluations, TD errors, data vectors, pushes
//! and normalised updates allocate nothing: counted by a global allocator that tallies the
//! allocations of the current thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{arr1, s, Array1};
use rand::SeedableRng;
use rlgrad::critic::{
    Activation, FnFeatures, NormalizedUpdate, ReplayBuffer, ShallowCritic, TdGradient, Trainable,
    Transition,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn evaluations_and_updates_do_not_allocate() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for act in [Activation::Tanh, Activation::Softplus] {
        let critic = ShallowCritic::new(3, 16, act).unwrap();
        let omega0 = critic.random_weights(&mut rng);
        let mut omega = omega0.clone();
        let mut grad = Array1::zeros(critic.dim());
        let mut d = Array1::zeros(critic.dim());
        let mut ws = critic.workspace();
        let mut buffer = ReplayBuffer::new(32, 3).unwrap();
        let z = arr1(&[0.1, -0.2, 0.3]);
        let zn = arr1(&[0.2, 0.0, -0.3]);
        // A strided view takes the copy path.
        let wide = Array1::from_shape_fn(2 * critic.dim(), |k| omega0[k / 2]);
        let strided = wide.slice(s![..;2]);
        let mut errors = Array1::zeros(32);
        let full = NormalizedUpdate::new(0.1, 0.9).unwrap();
        let semi = full.with_gradient(TdGradient::Semi);
        let output = full.with_trainable(Trainable::OutputLayer);

        let n = allocations_in(|| {
            for k in 0..40 {
                let r = k as f64 / 40.0;
                let t = if k % 5 == 4 {
                    Transition::terminal(z.view(), r)
                } else {
                    Transition::new(z.view(), r, zn.view())
                };
                buffer.push(t).unwrap();
                critic.value(omega.view(), z.view(), &mut ws).unwrap();
                critic.value(strided, z.view(), &mut ws).unwrap();
                critic
                    .value_and_grad(omega.view(), z.view(), grad.view_mut(), &mut ws)
                    .unwrap();
                critic.td_error(omega.view(), t, 0.9, &mut ws).unwrap();
                for kind in [TdGradient::Full, TdGradient::Semi] {
                    critic
                        .data_vector(omega.view(), t, 0.9, kind, d.view_mut(), &mut ws)
                        .unwrap();
                }
            }
            for u in [full, semi, output] {
                u.apply(&critic, &buffer, omega.view_mut(), &mut ws)
                    .unwrap();
            }
            buffer
                .td_errors(&critic, omega.view(), 0.9, errors.view_mut(), &mut ws)
                .unwrap();
        });
        assert_eq!(n, 0, "{act:?}: {n} allocations");
    }

    // A user feature map that does not allocate keeps it so.
    let one_hot = FnFeatures::new(1, 4, |z: &[f64], out: &mut [f64]| {
        out.fill(0.0);
        out[(z[0].max(0.0) as usize).min(3)] = 1.0;
    });
    let critic = ShallowCritic::with_features(one_hot, 4, Activation::Logistic).unwrap();
    let mut omega = critic.random_weights(&mut rng);
    let mut ws = critic.workspace();
    let mut buffer = ReplayBuffer::new(8, 1).unwrap();
    let update = NormalizedUpdate::new(0.5, 0.9).unwrap();
    let n = allocations_in(|| {
        for k in 0..8 {
            let (z, zn) = ([k as f64 % 4.0], [(k + 1) as f64 % 4.0]);
            let t = Transition::new(z[..].into(), 0.0, zn[..].into());
            buffer.push(t).unwrap();
        }
        for _ in 0..10 {
            update
                .apply(&critic, &buffer, omega.view_mut(), &mut ws)
                .unwrap();
        }
    });
    assert_eq!(n, 0, "feature map: {n} allocations");
}

/// `TdLoss` (a `Term`, called through `&self`) allocates one workspace per evaluation and
/// nothing per transition: the count does not depend on the batch size, and the value
/// alone allocates no more than the workspace (ω is copied into it, not into a new vector).
#[test]
fn td_loss_allocates_per_call_not_per_transition() {
    use rlgrad::critic::TdLoss;
    use rlgrad::Term;
    let critic = ShallowCritic::new(2, 8, Activation::Tanh).unwrap();
    let omega = critic.random_weights(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
    let counts = |m: usize| {
        let mut batch = ReplayBuffer::new(m, 2).unwrap();
        for k in 0..m {
            let (z, zn) = (arr1(&[k as f64 / 8.0, 1.0]), arr1(&[0.0, 1.0]));
            batch
                .push(Transition::new(z.view(), 0.5, zn.view()))
                .unwrap();
        }
        let loss = TdLoss::new(&critic, &batch, 0.9).unwrap();
        let mut grad = Array1::zeros(critic.dim());
        let value = allocations_in(|| {
            loss.value(omega.view()).unwrap();
        });
        let gradient = allocations_in(|| {
            loss.value_and_grad(omega.view(), grad.view_mut()).unwrap();
        });
        let workspace = allocations_in(|| drop(critic.workspace()));
        (value, gradient, workspace)
    };
    let (small, large) = (counts(4), counts(64));
    assert_eq!(small, large);
    assert_eq!(small.0, small.2, "value: {small:?}");
    assert_eq!(small.1, small.2, "value and gradient: {small:?}");
}
