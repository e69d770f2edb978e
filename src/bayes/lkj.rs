//! The Cholesky factor of a correlation matrix from unconstrained numbers, with its log
//! Jacobian, the LKJ log density, and the reverse pass of both (internal to `bayes`).
//!
//! The map is Stan's `cholesky_corr_constrain`: for the free numbers y (K(K−1)/2 of them,
//! row by row below the diagonal) z = tanh(y) are canonical partial correlations and, row by
//! row,
//!
//! ```text
//! L₀₀ = 1;   Lᵢⱼ = zᵢⱼ · √(1 − sᵢⱼ)  (j < i),   sᵢⱼ = Σ_{l<j} Lᵢₗ²;   Lᵢᵢ = √(1 − sᵢᵢ)
//! log |J| = Σ log(1 − zᵢⱼ²) + Σ_{i, 1≤j<i} ½ log(1 − sᵢⱼ)
//! log LKJ(L | η) = Σ_{i≥1} (K − i − 3 + 2η) · log Lᵢᵢ   (up to a constant; Stan's
//!                                                        lkj_corr_cholesky, 0-based i)
//! ```

/// The largest K the reverse pass keeps on the stack (checked where a model is built).
pub(crate) const MAX_K: usize = 64;

/// The number of free numbers for a K × K correlation matrix, K(K−1)/2.
pub(crate) fn n_free(k: usize) -> usize {
    k * k.saturating_sub(1) / 2
}

/// log(1 − tanh²(y)) = −2 log cosh y, without cancellation for large |y|.
fn log_sech2(y: f64) -> f64 {
    let a = y.abs();
    -2.0 * (a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2)
}

/// Fills the row-major K × K lower-triangular `l` (zeros above the diagonal) from `y` and
/// returns log |J| + log LKJ(L | η).
pub(crate) fn forward(k: usize, eta: f64, y: &[f64], l: &mut [f64]) -> f64 {
    debug_assert_eq!(y.len(), n_free(k));
    debug_assert_eq!(l.len(), k * k);
    l.fill(0.0);
    l[0] = 1.0;
    let mut lp = 0.0;
    let mut free = y.iter();
    for i in 1..k {
        let mut s = 0.0f64;
        for j in 0..i {
            let yij = *free.next().expect("n_free entries");
            let z = yij.tanh();
            lp += log_sech2(yij);
            if j >= 1 {
                lp += 0.5 * (-s).ln_1p();
            }
            let v = z * (1.0 - s).sqrt();
            l[i * k + j] = v;
            s += v * v;
        }
        let d = (1.0 - s).sqrt();
        l[i * k + i] = d;
        lp += (k as f64 - i as f64 - 3.0 + 2.0 * eta) * d.ln();
    }
    lp
}

/// Adds into `y_bar` the gradient, with respect to y, of
/// `Σᵢⱼ l_bar[i,j] · Lᵢⱼ + log |J| + log LKJ(L | η)` (the entries of `l_bar` on and below the
/// diagonal are the adjoints of L; L₀₀ is a constant). `l` is what [`forward`] filled.
pub(crate) fn backward(k: usize, eta: f64, y: &[f64], l: &[f64], l_bar: &[f64], y_bar: &mut [f64]) {
    debug_assert_eq!(y_bar.len(), n_free(k));
    for i in 1..k {
        let off = i * (i - 1) / 2;
        // Sums of squares before each column, s[j] = Σ_{l<j} L[i,l]², j = 0..=i.
        let mut s = [0.0f64; MAX_K];
        for j in 0..i {
            s[j + 1] = s[j] + l[i * k + j] * l[i * k + j];
        }
        let d = l[i * k + i];
        let a = k as f64 - i as f64 - 3.0 + 2.0 * eta;
        // L[i,i] = √(1 − s_i): its adjoint (l_bar and the LKJ term a·log L_ii) on s_i.
        let mut s_adj = -(l_bar[i * k + i] + a / d) / (2.0 * d);
        for j in (0..i).rev() {
            let yij = y[off + j];
            let z = yij.tanh();
            let c = (1.0 - s[j]).sqrt();
            let lij = l[i * k + j];
            let l_adj = l_bar[i * k + j] + s_adj * 2.0 * lij;
            let z_adj = l_adj * c;
            // s_j feeds c = √(1 − s_j) and, for j ≥ 1, the Jacobian's ½ log(1 − s_j).
            s_adj += -l_adj * z / (2.0 * c);
            if j >= 1 {
                s_adj += -0.5 / (1.0 - s[j]);
            }
            y_bar[off + j] += z_adj * (1.0 - z * z) - 2.0 * z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L Lᵀ has a unit diagonal, and the reverse pass matches central differences.
    #[test]
    fn unit_diagonal_and_reverse_pass() {
        let k = 4;
        let eta = 1.7;
        let y: Vec<f64> = (0..n_free(k)).map(|i| 0.3 * i as f64 - 0.8).collect();
        let l_bar: Vec<f64> = (0..k * k)
            .map(|i| ((i * 7 % 5) as f64 - 2.0) * 0.1)
            .collect();
        let mut l = vec![0.0; k * k];
        forward(k, eta, &y, &mut l);
        for i in 0..k {
            let norm: f64 = (0..k).map(|j| l[i * k + j] * l[i * k + j]).sum();
            assert!((norm - 1.0).abs() < 1e-14, "row {i}: {norm}");
        }
        let f = |y: &[f64]| {
            let mut l = vec![0.0; k * k];
            let lp = forward(k, eta, y, &mut l);
            lp + (1..k)
                .flat_map(|i| (0..=i).map(move |j| (i, j)))
                .map(|(i, j)| l_bar[i * k + j] * l[i * k + j])
                .sum::<f64>()
        };
        let mut g = vec![0.0; n_free(k)];
        backward(k, eta, &y, &l, &l_bar, &mut g);
        for m in 0..n_free(k) {
            let h = 1e-6;
            let mut yp = y.clone();
            yp[m] += h;
            let mut ym = y.clone();
            ym[m] -= h;
            let fd = (f(&yp) - f(&ym)) / (2.0 * h);
            assert!(
                (fd - g[m]).abs() < 1e-7 * (1.0 + fd.abs()),
                "{m}: {fd} vs {}",
                g[m]
            );
        }
    }
}
