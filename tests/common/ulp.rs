//! Ulp measurements of the f64 kernels against reference functions.

/// Distance in units in the last place between two finite numbers of the same sign.
pub fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

/// The largest ulp distance seen so far between a kernel and its reference. Values below
/// 1e-300 are compared absolutely (subnormal tails, where an ulp is meaningless); above, a
/// result of the wrong sign counts as infinitely far (`u64::MAX`), as the raw-bit distance
/// the critic's test used before did.
#[derive(Debug, Default)]
pub struct UlpMeter {
    pub worst: u64,
}

impl UlpMeter {
    pub fn see(&mut self, got: f64, want: f64, x: f64) {
        if got == want {
            return;
        }
        if want.abs() > 1e-300 {
            let d = if got.signum() == want.signum() {
                ulps(got.abs(), want.abs())
            } else {
                u64::MAX
            };
            self.worst = self.worst.max(d);
        } else {
            assert!((got - want).abs() < 1e-300, "{x}: {got} vs {want}");
        }
    }
}

/// The arguments the kernels are swept over: a dense grid of [−40, 40], every decade from
/// 1e-320 to 1e308 (both signs), the branch points (±0.625 for tanh) and the extremes.
pub fn ulp_sweep() -> Vec<f64> {
    let mut xs: Vec<f64> = (-400_000..=400_000).map(|k| k as f64 * 1e-4).collect();
    for e in -320..=308 {
        for m in [1.0, 1.7, 6.25, 9.9] {
            xs.push(m * 10f64.powi(e));
            xs.push(-m * 10f64.powi(e));
        }
    }
    xs.extend([
        0.0,
        -0.0,
        0.625,
        -0.625,
        0.624_999_999_999_999_9,
        709.0,
        745.0,
    ]);
    xs.extend([f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY]);
    xs
}
