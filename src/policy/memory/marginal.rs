//! The memory policy's marginal choice probabilities, ζ integrated out: by one-dimensional
//! quadrature for two actions, from a fixed set of draws otherwise.
//!
//! ```text
//! two actions:  d = z₀ − z₁ ~ N(m, s²),  m = β(q̄₀ − q̄₁),  s = β √(σ₀² + σ₁²)
//!               π(0) = E[logistic(m + s·u)],  u ~ N(0, 1)
//!               ∂π(0)/∂σⱼ = E[logistic′(m + s·u) u] · β σⱼ / √(σ₀² + σ₁²)
//! hard:         P(a = 0) = Φ((q̄₀ − q̄₁) / √(σ₀² + σ₁²))
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::numeric::{SoftmaxNorm, logistic, normal_expectation};

/// The number of draws of ζ behind a marginal probability of more than two actions.
pub const MARGINAL_DRAWS: usize = 4096;

/// The seed of those draws (the same in every call).
const SEED: u64 = 0x5eed_d2a0_0001;

/// Runs `f` on a zeroed buffer of length n: on the stack up to 16, else on the heap.
pub(super) fn with_buffer<T>(n: usize, f: impl FnOnce(&mut [f64]) -> T) -> T {
    let mut small = [0.0; 16];
    if n <= small.len() {
        f(&mut small[..n])
    } else {
        f(&mut vec![0.0; n])
    }
}

/// π(a | s) for every action into `out`.
pub(super) fn soft(beta: f64, q: &[f64], sigma: &[f64], out: &mut [f64]) {
    match q.len() {
        1 => out[0] = 1.0,
        2 => {
            let (p0, _) = two_actions::<false>(beta, q, sigma, 0);
            let (p1, _) = two_actions::<false>(beta, q, sigma, 1);
            out[0] = p0;
            out[1] = p1;
        }
        _ => {
            out.fill(0.0);
            sampled(beta, q, sigma, |pi, _| {
                for (o, p) in out.iter_mut().zip(pi) {
                    *o += p;
                }
            });
            out.iter_mut().for_each(|o| *o /= MARGINAL_DRAWS as f64);
        }
    }
}

/// π(a | s) and, if `SCORE`, ∂π(a | s)/∂σₛⱼ into `grad` (length A).
pub(super) fn soft_with_score<const SCORE: bool>(
    beta: f64,
    q: &[f64],
    sigma: &[f64],
    action: usize,
    grad: &mut [f64],
) -> f64 {
    match q.len() {
        1 => {
            if SCORE {
                grad[0] = 0.0;
            }
            1.0
        }
        2 => {
            let (p, dp) = two_actions::<SCORE>(beta, q, sigma, action);
            if SCORE {
                grad.copy_from_slice(&dp);
            }
            p
        }
        _ => {
            let mut p = 0.0;
            if SCORE {
                grad.fill(0.0);
            }
            sampled(beta, q, sigma, |pi, zeta| {
                let pa = pi[action];
                p += pa;
                if SCORE {
                    // ∂πₐ/∂σⱼ = πₐ β ζⱼ (1[j = a] − πⱼ).
                    for (j, g) in grad.iter_mut().enumerate() {
                        let d = if j == action { 1.0 - pa } else { -pi[j] };
                        *g += pa * beta * zeta[j] * d;
                    }
                }
            });
            if SCORE {
                grad.iter_mut().for_each(|g| *g /= MARGINAL_DRAWS as f64);
            }
            p / MARGINAL_DRAWS as f64
        }
    }
}

/// Two actions: π(a) by quadrature and, if `SCORE`, (∂π(a)/∂σ₀, ∂π(a)/∂σ₁).
fn two_actions<const SCORE: bool>(
    beta: f64,
    q: &[f64],
    sigma: &[f64],
    action: usize,
) -> (f64, [f64; 2]) {
    let sign = if action == 0 { 1.0 } else { -1.0 };
    let m = beta * (q[0] - q[1]);
    let h = sigma[0].hypot(sigma[1]);
    let s = beta * h;
    let [p, dp_ds] = normal_expectation(
        |u| {
            let x = m + s * u;
            let l = logistic(sign * x);
            if SCORE {
                [l, l * logistic(-sign * x) * u]
            } else {
                [l, 0.0]
            }
        },
        -m / s,
        1.0 / s,
    );
    // ∂π(a)/∂s = sign-free: d/dx logistic(sign·x) = sign·ℓ′(x), and ∂x/∂s = u.
    let dp_ds = sign * dp_ds;
    (
        p,
        [dp_ds * beta * sigma[0] / h, dp_ds * beta * sigma[1] / h],
    )
}

/// Hard Thompson probabilities P(a = argmaxⱼ q̄ⱼ + ζⱼ σⱼ) into `out`.
pub(super) fn hard(q: &[f64], sigma: &[f64], out: &mut [f64]) {
    match q.len() {
        1 => out[0] = 1.0,
        2 => {
            // P(a = 0) = P(u < (q̄₀ − q̄₁)/√(σ₀² + σ₁²)) for u ~ N(0, 1); each side integrated
            // on its own, so a small probability keeps its relative accuracy.
            let x = (q[0] - q[1]) / sigma[0].hypot(sigma[1]);
            let [below, above] =
                normal_expectation(|u| if u < x { [1.0, 0.0] } else { [0.0, 1.0] }, x, 1e-3);
            out[0] = below;
            out[1] = above;
        }
        _ => {
            out.fill(0.0);
            let mut rng = ChaCha8Rng::seed_from_u64(SEED);
            for _ in 0..MARGINAL_DRAWS {
                let mut best = (f64::NEG_INFINITY, 0);
                for j in 0..q.len() {
                    let z: f64 = rng.sample(StandardNormal);
                    let v = q[j] + z * sigma[j];
                    if v > best.0 {
                        best = (v, j);
                    }
                }
                out[best.1] += 1.0;
            }
            out.iter_mut().for_each(|o| *o /= MARGINAL_DRAWS as f64);
        }
    }
}

/// Calls `f(π(· | ζ), ζ)` for each of the fixed draws of ζ.
fn sampled(beta: f64, q: &[f64], sigma: &[f64], mut f: impl FnMut(&[f64], &[f64])) {
    let n = q.len();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    with_buffer(n, |zeta| {
        with_buffer(n, |pi| {
            for _ in 0..MARGINAL_DRAWS {
                for z in zeta.iter_mut() {
                    *z = rng.sample(StandardNormal);
                }
                let logit = |j: usize| beta * (q[j] + zeta[j] * sigma[j]);
                let norm = SoftmaxNorm::with_weights(logit, pi);
                let inv = 1.0 / norm.sum;
                pi.iter_mut().for_each(|p| *p *= inv);
                f(pi, zeta);
            }
        })
    })
}
