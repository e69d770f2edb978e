//! Expectations under the standard normal by composite Gauss–Legendre quadrature, for
//! integrands that change sharply near one point: E\[f(z)\], z ~ N(0, 1), where f varies on a
//! scale `width` around `centre` and slowly elsewhere (a logistic of m + s·z varies on the
//! scale 1/s around z = −m/s).
//!
//! ```text
//! E[f(z)] = ∫ f(z) φ(z) dz  over [−L, L], L = 12 (φ(12) < 10⁻³¹)
//! panels: width ½·min(width, ½) at `centre`, doubling outwards up to ½; 8 Gauss–Legendre
//! nodes per panel (exact for polynomials of degree 15 times φ on each panel)
//! ```
//!
//! The memory policy's exact two-action choice probabilities and their derivatives use it
//! ([`MemoryPolicy`](crate::policy::MemoryPolicy)).

/// The 8-point Gauss–Legendre nodes on \[−1, 1\] (positive half) and their weights.
const NODES: [f64; 4] = [
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_8,
    0.960_289_856_497_536_3,
];
const WEIGHTS: [f64; 4] = [
    0.362_683_783_378_362,
    0.313_706_645_877_887_4,
    0.222_381_034_453_374_45,
    0.101_228_536_290_376_18,
];

/// Half-width of the integration range in z.
const LIMIT: f64 = 12.0;
/// The widest panel.
const MAX_PANEL: f64 = 0.5;

/// 1/√(2π).
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// E\[f(z)\] componentwise for z ~ N(0, 1), with the panels refined around `centre` to the
/// scale `width` (> 0). `f` returns K numbers (a value and its derivatives, say), so one
/// pass serves them all. A non-finite `centre` or one outside ±12 means no refinement.
///
/// ```
/// use rlgrad::numeric::normal_expectation;
/// // E[z²] = 1 and E[1[z > 0.3]] = 1 − Φ(0.3) (a step: refined at its jump).
/// let [m2] = normal_expectation(|z| [z * z], 0.0, 1.0);
/// assert!((m2 - 1.0).abs() < 1e-13);
/// let [tail] = normal_expectation(|z| [if z > 0.3 { 1.0 } else { 0.0 }], 0.3, 1e-9);
/// assert!((tail - 0.382_088_577_811_047_4).abs() < 1e-12);
/// ```
pub fn normal_expectation<const K: usize>(
    f: impl Fn(f64) -> [f64; K],
    centre: f64,
    width: f64,
) -> [f64; K] {
    let mut acc = [0.0; K];
    let mut panel = |a: f64, b: f64| {
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        for (&x, &w) in NODES.iter().zip(&WEIGHTS) {
            for z in [mid - half * x, mid + half * x] {
                let weight = w * half * INV_SQRT_2PI * (-0.5 * z * z).exp();
                let values = f(z);
                for k in 0..K {
                    acc[k] += weight * values[k];
                }
            }
        }
    };
    if centre.is_finite() && centre.abs() < LIMIT && width > 0.0 {
        let first = 0.5 * width.min(MAX_PANEL);
        // Outwards from the centre on each side, doubling up to the widest panel.
        for dir in [-1.0, 1.0] {
            let (mut at, mut h) = (centre, first);
            loop {
                let next = at + dir * h;
                let end = if dir > 0.0 {
                    next.min(LIMIT)
                } else {
                    next.max(-LIMIT)
                };
                let (a, b) = if dir > 0.0 { (at, end) } else { (end, at) };
                panel(a, b);
                if end.abs() >= LIMIT {
                    break;
                }
                at = end;
                h = (2.0 * h).min(MAX_PANEL);
            }
        }
    } else {
        let n = (2.0 * LIMIT / MAX_PANEL) as usize;
        for i in 0..n {
            let a = -LIMIT + i as f64 * MAX_PANEL;
            panel(a, a + MAX_PANEL);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_the_normal_are_exact() {
        for (centre, width) in [
            (0.0, 1.0),
            (0.7, 1e-3),
            (-11.9, 0.2),
            (f64::NAN, 1.0),
            (30.0, 1.0),
        ] {
            let [m0, m1, m2, m4] =
                normal_expectation(|z| [1.0, z, z * z, z.powi(4)], centre, width);
            assert!((m0 - 1.0).abs() < 1e-14, "{m0}");
            assert!(m1.abs() < 1e-14, "{m1}");
            assert!((m2 - 1.0).abs() < 1e-13, "{m2}");
            assert!((m4 - 3.0).abs() < 1e-12, "{m4}");
        }
    }
}
