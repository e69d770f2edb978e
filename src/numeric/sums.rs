//! Sums that stay finite and give the same bits on every path: a dot product, a mean and a
//! Euclidean norm.

use ndarray::ArrayView1;

/// xᵀy over the common length, with four accumulators (the same bits on every path that
/// calls it).
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    let mut acc = [0.0; 4];
    let mut xc = x.chunks_exact(4);
    let mut yc = y.chunks_exact(4);
    for (a, b) in (&mut xc).zip(&mut yc) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let mut tail = 0.0;
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        tail += a * b;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// (1/n) Σ xᵢ, summed as Σ xᵢ/n: finite for finite inputs however large (a plain sum of two
/// values near the largest double overflows).
#[inline]
pub(crate) fn mean_of(xs: impl IntoIterator<Item = f64>, n: usize) -> f64 {
    let inv = 1.0 / n as f64;
    xs.into_iter().map(|x| x * inv).sum()
}

/// The mean and its standard error (sample standard deviation / √n, 0 for one value) of
/// non-empty `xs`, in two passes (no cancellation between Σx² and n·mean²).
pub(crate) fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    let mean = mean_of(xs.iter().copied(), n);
    if n < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n as f64 - 1.0);
    (mean, (var / n as f64).sqrt())
}

/// ‖x‖₂ without overflow or underflow of the squares (scaled by the largest entry).
pub(crate) fn norm2(x: ArrayView1<f64>) -> f64 {
    let scale = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn norm_does_not_overflow() {
        assert_eq!(norm2(arr1(&[3.0, 4.0]).view()), 5.0);
        assert!((norm2(arr1(&[3e200, 4e200]).view()) / 5e200 - 1.0).abs() < 1e-15);
        assert_eq!(norm2(arr1(&[0.0, 0.0]).view()), 0.0);
        assert!((norm2(arr1(&[3e-200, 4e-200]).view()) - 5e-200).abs() < 1e-214);
    }

    #[test]
    fn mean_and_dot_stay_finite() {
        assert_eq!(mean_of([f64::MAX, f64::MAX], 2), f64::MAX);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 5]), 15.0);
    }
}
