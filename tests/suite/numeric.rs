//! The f64 kernels of `rlgrad::numeric` against the standard library and the generic
//! reference functions: ulp distances over a sweep of every decade of the double range, and
//! the softmax kernel's normaliser, draw and probabilities against direct formulas.

use rlgrad::numeric::{
    Lanes, SoftmaxNorm, draw, exp_nonpositive, exp_nonpositive_lanes, fast_tanh,
    log_logistic_parts, log_sum_exp, logistic, logistic_pair, softmax_probabilities, softplus,
    softplus_with_logistic,
};

use crate::common;

use common::ulp::{UlpMeter, ulp_sweep, ulps};

#[test]
fn exp_nonpositive_is_within_two_ulp() {
    let mut worst = 0;
    // A dense sweep of [−708, 0] plus the neighbourhoods of the reduction boundaries.
    let n = 2_000_000;
    for i in 0..=n {
        let x = -708.0 * (i as f64 / n as f64).powi(2);
        let (a, b) = (exp_nonpositive(x), x.exp());
        worst = worst.max(ulps(a, b));
    }
    for k in 0..1000 {
        let mid = -(k as f64 + 0.5) * std::f64::consts::LN_2;
        for d in [-1e-12, 0.0, 1e-12] {
            let x = mid + d;
            worst = worst.max(ulps(exp_nonpositive(x), x.exp()));
        }
    }
    assert!(worst <= 2, "worst error {worst} ulp");
    eprintln!("exp_nonpositive: worst error {worst} ulp");
    assert_eq!(exp_nonpositive(0.0), 1.0);
    assert_eq!(exp_nonpositive(-0.0), 1.0);
    assert_eq!(exp_nonpositive(-745.5), 0.0);
    assert_eq!(exp_nonpositive(-720.0), (-720.0f64).exp());
    assert!(ulps(exp_nonpositive(-699.9), (-699.9f64).exp()) <= 2);
    assert!(exp_nonpositive(f64::NAN).is_nan());
    assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
    assert_eq!(exp_nonpositive(2.0), 2.0f64.exp());
}

/// The lanes' table-free exponential, with and without fused multiply-adds (in this test
/// binary `f64::mul_add` may be a libm call: slow, and exactly as accurate), over the same
/// sweep as the scalar one and into the subnormal range, where it must round as `f64::exp`
/// (within an ulp of the subnormal spacing).
#[test]
fn exp_nonpositive_lanes_is_within_two_ulp() {
    fn check<const FMA: bool>() -> u64 {
        let exp8 = |x: [f64; 8]| exp_nonpositive_lanes::<FMA, 8>(Lanes(x)).0;
        let mut worst = 0;
        let mut xs: Vec<f64> = (0..=400_000)
            .map(|i| -708.0 * (i as f64 / 400_000.0).powi(2))
            .collect();
        for k in 0..1077 {
            let mid = -(k as f64 + 0.5) * std::f64::consts::LN_2;
            xs.extend([mid - 1e-12, mid, mid + 1e-12]);
        }
        xs.extend((0..=20_000).map(|i| -708.0 - 38.0 * i as f64 / 20_000.0));
        for chunk in xs.chunks(8) {
            let mut x = [0.0; 8];
            x[..chunk.len()].copy_from_slice(chunk);
            for (got, &x) in exp8(x).iter().zip(&x) {
                let want = x.exp();
                if want >= f64::MIN_POSITIVE {
                    worst = worst.max(ulps(*got, want));
                } else {
                    // Subnormal: one spacing of 2^-1074 at most.
                    assert!((got - want).abs() <= 5e-324, "{x}: {got:e} vs {want:e}");
                }
            }
        }
        let edge = exp8([
            0.0,
            -0.0,
            -745.2,
            -746.0,
            -800.0,
            f64::NEG_INFINITY,
            f64::NAN,
            -1e-300,
        ]);
        assert_eq!(edge[..6], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(edge[6].is_nan());
        assert_eq!(edge[7], 1.0);
        worst
    }
    for (fma, worst) in [(false, check::<false>()), (true, check::<true>())] {
        eprintln!("exp_nonpositive_lanes (fma {fma}): worst error {worst} ulp");
        assert!(worst <= 2, "fma {fma}: worst error {worst} ulp");
    }
}

#[test]
fn fast_tanh_is_within_three_ulp() {
    let mut meter = UlpMeter::default();
    for x in ulp_sweep() {
        meter.see(fast_tanh(x), x.tanh(), x);
    }
    eprintln!("fast_tanh: worst error {} ulp", meter.worst);
    assert!(meter.worst <= 3, "fast_tanh: {} ulp", meter.worst);
    assert!(fast_tanh(f64::NAN).is_nan());
    assert_eq!(fast_tanh(-0.0).to_bits(), (-0.0f64).to_bits());
}

#[test]
fn logistic_pair_and_softplus_are_within_three_ulp() {
    let mut worst = [
        UlpMeter::default(),
        UlpMeter::default(),
        UlpMeter::default(),
    ];
    for x in ulp_sweep() {
        let (s, c) = logistic_pair(x);
        worst[0].see(s, logistic(x), x);
        worst[1].see(c, logistic(-x), x);
        let (v, s2, c2) = softplus_with_logistic(x);
        assert_eq!((s2.to_bits(), c2.to_bits()), (s.to_bits(), c.to_bits()));
        if x.is_finite() {
            worst[2].see(v, softplus(x), x);
        }
    }
    let worst = worst.map(|w| w.worst);
    eprintln!(
        "logistic_pair {}/{} ulp, softplus {} ulp",
        worst[0], worst[1], worst[2]
    );
    assert!(worst.iter().all(|w| *w <= 3), "{worst:?}");
    assert_eq!(softplus_with_logistic(f64::INFINITY).0, f64::INFINITY);
    assert_eq!(softplus_with_logistic(f64::NEG_INFINITY).0, 0.0);
}

/// ln σ(x) from the parts, against ln(logistic(x)) computed as −ln(1 + e^(−x)) with
/// `ln_1p` (accurate where it does not overflow), and against −e^(−x) for large x where
/// ln σ(x) ≈ −e^(−x) to double precision.
#[test]
fn log_logistic_parts_keep_full_relative_accuracy() {
    let mut meter = UlpMeter::default();
    for k in -3000..=3000 {
        let x = k as f64 * 0.01;
        let (shift, norm, e) = log_logistic_parts(x);
        assert!((1.0..=2.0).contains(&norm));
        assert!(ulps(e, (-x.abs()).exp()) <= 2);
        let want = if x >= 0.0 {
            -(-x).exp().ln_1p()
        } else {
            x - x.exp().ln_1p()
        };
        meter.see(shift - norm.ln(), want, x);
    }
    eprintln!("ln sigma: worst error {} ulp", meter.worst);
    assert!(meter.worst <= 4, "{} ulp", meter.worst);
    for x in [40.0, 46.0, 100.0, 700.0] {
        let (shift, norm, _) = log_logistic_parts(x);
        let got = shift - norm.ln();
        let want = -(-x).exp();
        assert!(
            ((got - want) / want).abs() <= 4.0 * f64::EPSILON,
            "{x}: {got} vs {want}"
        );
    }
}

/// The softmax normaliser against the direct formula (in exact arithmetic as far as f64
/// goes: logits in a moderate range), its draw against the inverse CDF of the direct
/// probabilities, and the limits.
#[test]
fn softmax_kernel_agrees_with_direct_formulas() {
    let z: [f64; 6] = [0.3, -1.2, 2.5, 0.0, 2.5, -7.0];
    let n = z.len();
    let direct_sum: f64 = z.iter().map(|v| v.exp()).sum();
    let norm = SoftmaxNorm::new(n, |j| z[j]);
    let mut weights = [0.0; 6];
    let with = SoftmaxNorm::with_weights(|j| z[j], &mut weights);
    assert_eq!(norm, with);
    assert_eq!(norm.max, 2.5);
    let mut p = [0.0; 6];
    softmax_probabilities(|j| z[j], &mut p);
    for j in 0..n {
        let want = z[j].exp() / direct_sum;
        assert!((p[j] - want).abs() <= 1e-15 * want, "p[{j}]");
        assert!((norm.log_prob(z[j]) - want.ln()).abs() <= 1e-15 * want.ln().abs().max(1.0));
        let (shift, s) = norm.log_prob_parts(z[j]);
        assert!((shift - s.ln() - norm.log_prob(z[j])).abs() <= 4e-16 * want.ln().abs().max(1.0));
        assert!((weights[j] - p[j] * norm.sum).abs() <= 4e-16);
    }
    // The draw is the inverse CDF of p.
    let mut cdf = 0.0;
    for (j, &pj) in p.iter().enumerate() {
        let mid = cdf + 0.5 * pj;
        if pj > 0.0 {
            assert_eq!(norm.sample(n, |i| z[i], mid), j);
        }
        cdf += pj;
    }
    assert_eq!(draw(3, |j| [0.0, 0.0, 0.0][j], 0.5), 0);
    assert_eq!(draw(3, |j| [0.5, 0.5, 0.0][j], 0.9999), 1);
    // Limits: equal logits exactly uniform, +∞ shared, a log-probability near 0 accurate.
    let mut q = [0.0; 4];
    softmax_probabilities(|_| 1e6, &mut q);
    assert_eq!(q, [0.25; 4]);
    softmax_probabilities(|j| [f64::INFINITY, 1.0, f64::INFINITY, 0.0][j], &mut q);
    assert_eq!(q, [0.5, 0.0, 0.5, 0.0]);
    let near_one = SoftmaxNorm::new(3, |j| [46.0, 0.0, 0.0][j]);
    let want = -2.0 * (-46.0f64).exp();
    assert!(((near_one.log_prob(46.0) - want) / want).abs() < 1e-15);
}

#[test]
fn log_sum_exp_limits() {
    assert!((log_sum_exp(&[0.0, 0.0, 0.0]) - 3f64.ln()).abs() < 1e-15);
    assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
    assert_eq!(
        log_sum_exp(&[f64::INFINITY, f64::NEG_INFINITY]),
        f64::INFINITY
    );
    assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
    assert!(log_sum_exp(&[1.0, f64::NAN]).is_nan());
    assert!((log_sum_exp(&[1e308, 1e308]) - 1e308).abs() <= 1e292);
    let x = [1.5, -0.25, 3.0];
    let direct = x.iter().map(|v: &f64| v.exp()).sum::<f64>().ln();
    assert!((log_sum_exp(&x) - direct).abs() <= 4e-16 * direct);
}
