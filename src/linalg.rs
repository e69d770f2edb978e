//! The crate's only seam to dense linear algebra.
//!
//! By default everything here is pure Rust (nalgebra), so `cargo add rlgrad && cargo test`
//! works on a machine without any system library. With the `lapack` feature and a backend
//! feature (`openblas-system`) the same functions go through
//! ndarray-linalg. Both implementations are always compiled in tests of a LAPACK build and
//! compared against each other.
//!
//! Matrices are small here (one row per parameter), so the cost is negligible next to a
//! likelihood evaluation; what matters is that failures are errors, not panics.
//!
//! The module is internal: users see its results (a prior's factorisation, a fit's
//! covariance, a contraction matrix's spectral radius), never the seam itself.

#[cfg(all(feature = "lapack", not(feature = "openblas-system")))]
compile_error!(
    "the `lapack` feature needs a backend: enable `openblas-system` \
     (a library does not pick a LAPACK backend for you)"
);

use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{Error, Result};

/// Checks that a matrix is square, finite and symmetric (to a relative tolerance of 1e-10 of
/// its largest entry), naming it in the error.
///
/// # Errors
/// [`Error::InvalidMatrix`] saying which property fails and where.
pub fn check_symmetric(a: ArrayView2<f64>, what: &str) -> Result<()> {
    let (r, c) = a.dim();
    if r != c {
        return Err(Error::InvalidMatrix {
            what: what.to_string(),
            reason: format!("is {r} x {c}, not square"),
        });
    }
    if let Some(((i, j), v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::InvalidMatrix {
            what: what.to_string(),
            reason: format!("entry ({i}, {j}) = {v} is not finite"),
        });
    }
    let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    for i in 0..r {
        for j in 0..i {
            if (a[[i, j]] - a[[j, i]]).abs() > 1e-10 * scale {
                return Err(Error::InvalidMatrix {
                    what: what.to_string(),
                    reason: format!(
                        "is not symmetric: entry ({i}, {j}) = {} but ({j}, {i}) = {}",
                        a[[i, j]],
                        a[[j, i]]
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Lower-triangular Cholesky factor L with A = L Lᵀ.
///
/// # Errors
/// [`Error::InvalidMatrix`] if A is not square, finite and symmetric;
/// [`Error::NotPositiveDefinite`] (with the smallest eigenvalue) if the factorisation fails.
pub fn cholesky(a: ArrayView2<f64>, what: &str) -> Result<Array2<f64>> {
    check_symmetric(a, what)?;
    // Both backends accept some semi-definite matrices with a zero (or tiny negative)
    // pivot; a factor is only usable with a positive, finite diagonal.
    match backend::cholesky(a) {
        Some(l) if l.diag().iter().all(|d| d.is_finite() && *d > 0.0) => Ok(l),
        _ => Err(not_pd(a, what)),
    }
}

/// Eigen-decomposition of a symmetric matrix: eigenvalues in ascending order and the
/// matching orthonormal eigenvectors as columns.
///
/// # Errors
/// [`Error::InvalidMatrix`] if A is not square, finite and symmetric.
pub fn symmetric_eigen(a: ArrayView2<f64>, what: &str) -> Result<(Array1<f64>, Array2<f64>)> {
    check_symmetric(a, what)?;
    backend::symmetric_eigen(a).ok_or_else(|| Error::InvalidMatrix {
        what: what.to_string(),
        reason: "eigen-decomposition did not converge".to_string(),
    })
}

/// Inverse of a symmetric positive-definite matrix, through its Cholesky factor.
#[cfg(test)]
///
/// # Errors
/// As [`cholesky`].
pub fn inverse_spd(a: ArrayView2<f64>, what: &str) -> Result<Array2<f64>> {
    let l = cholesky(a, what)?;
    Ok(inverse_from_cholesky(&l))
}

/// A⁻¹ from the Cholesky factor L of A: (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹, by triangular substitution.
pub fn inverse_from_cholesky(l: &Array2<f64>) -> Array2<f64> {
    let n = l.nrows();
    // M = L⁻¹ by forward substitution, column by column.
    let mut m = Array2::<f64>::zeros((n, n));
    for c in 0..n {
        for i in c..n {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in c..i {
                s -= l[[i, k]] * m[[k, c]];
            }
            m[[i, c]] = s / l[[i, i]];
        }
    }
    let inv = m.t().dot(&m);
    0.5 * (&inv + &inv.t())
}

/// ln |A| from the Cholesky factor L of A: 2 Σ ln Lᵢᵢ.
pub fn log_det_from_cholesky(l: &Array2<f64>) -> f64 {
    2.0 * l.diag().iter().map(|d| d.ln()).sum::<f64>()
}

fn not_pd(a: ArrayView2<f64>, what: &str) -> Error {
    let reason = match backend::symmetric_eigen(a) {
        Some((values, _)) => format!(
            "smallest eigenvalue is {:e}",
            values.iter().copied().fold(f64::INFINITY, f64::min)
        ),
        None => "the Cholesky factorisation failed".to_string(),
    };
    Error::NotPositiveDefinite {
        what: what.to_string(),
        reason,
    }
}

/// Pure-Rust implementation (nalgebra); the default. A LAPACK build keeps it for the test
/// that compares the two.
#[cfg_attr(feature = "lapack", allow(dead_code))]
pub(crate) mod pure {
    use ndarray::{Array1, Array2, ArrayView2};

    fn to_na(a: ArrayView2<f64>) -> nalgebra::DMatrix<f64> {
        let (r, c) = a.dim();
        nalgebra::DMatrix::from_fn(r, c, |i, j| a[[i, j]])
    }

    fn from_na(m: &nalgebra::DMatrix<f64>) -> Array2<f64> {
        Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
    }

    pub(crate) fn cholesky(a: ArrayView2<f64>) -> Option<Array2<f64>> {
        let c = nalgebra::linalg::Cholesky::new(to_na(a))?;
        Some(from_na(&c.l()))
    }

    pub(crate) fn symmetric_eigen(a: ArrayView2<f64>) -> Option<(Array1<f64>, Array2<f64>)> {
        let n = a.nrows();
        let e = nalgebra::linalg::SymmetricEigen::try_new(to_na(a), f64::EPSILON, 0)?;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| e.eigenvalues[i].total_cmp(&e.eigenvalues[j]));
        let values = Array1::from_iter(order.iter().map(|&i| e.eigenvalues[i]));
        let vectors = Array2::from_shape_fn((n, n), |(r, c)| e.eigenvectors[(r, order[c])]);
        Some((values, vectors))
    }
}

/// LAPACK implementation (ndarray-linalg), behind the `lapack` feature.
#[cfg(feature = "lapack")]
pub(crate) mod lapack {
    use ndarray::{Array1, Array2, ArrayView2};
    use ndarray_linalg::{Cholesky, Eigh, UPLO};

    pub(crate) fn cholesky(a: ArrayView2<f64>) -> Option<Array2<f64>> {
        a.to_owned().cholesky(UPLO::Lower).ok()
    }

    pub(crate) fn symmetric_eigen(a: ArrayView2<f64>) -> Option<(Array1<f64>, Array2<f64>)> {
        a.to_owned().eigh(UPLO::Lower).ok()
    }
}

#[cfg(feature = "lapack")]
use self::lapack as backend;
#[cfg(not(feature = "lapack"))]
use self::pure as backend;

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    fn spd() -> Array2<f64> {
        arr2(&[[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
    }

    #[test]
    fn inverse_and_log_det() {
        let a = spd();
        let inv = inverse_spd(a.view(), "a").unwrap();
        let id = a.dot(&inv);
        for ((i, j), v) in id.indexed_iter() {
            assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
        }
        let l = cholesky(a.view(), "a").unwrap();
        let (values, _) = symmetric_eigen(a.view(), "a").unwrap();
        let ld: f64 = values.iter().map(|v| v.ln()).sum();
        assert!((log_det_from_cholesky(&l) - ld).abs() < 1e-12);
    }

    #[test]
    fn eigen_reconstructs() {
        let a = spd();
        let (v, q) = symmetric_eigen(a.view(), "a").unwrap();
        let rec = q.dot(&Array2::from_diag(&v)).dot(&q.t());
        assert!((rec - &a).iter().all(|e| e.abs() < 1e-12));
        assert!(v[0] <= v[1] && v[1] <= v[2]);
    }

    #[test]
    fn failures_are_errors() {
        let not_pd = arr2(&[[1.0, 2.0], [2.0, 1.0]]);
        let err = cholesky(not_pd.view(), "cov").unwrap_err();
        assert!(
            err.to_string().contains("smallest eigenvalue is -1"),
            "{err}"
        );
        let semi = arr2(&[[1.0, 1.0], [1.0, 1.0]]);
        assert!(matches!(
            cholesky(semi.view(), "cov"),
            Err(Error::NotPositiveDefinite { .. })
        ));
        let asym = arr2(&[[1.0, 0.5], [0.0, 1.0]]);
        assert!(matches!(
            cholesky(asym.view(), "cov"),
            Err(Error::InvalidMatrix { .. })
        ));
        let rect = Array2::<f64>::zeros((2, 3));
        assert!(symmetric_eigen(rect.view(), "m").is_err());
        let nan = arr2(&[[1.0, f64::NAN], [f64::NAN, 1.0]]);
        assert!(cholesky(nan.view(), "m").is_err());
    }

    /// With a LAPACK backend, both implementations run and must agree.
    #[cfg(feature = "lapack")]
    #[test]
    fn lapack_agrees_with_pure_rust() {
        let a = spd();
        let l1 = pure::cholesky(a.view()).unwrap();
        let l2 = lapack::cholesky(a.view()).unwrap();
        assert!((&l1 - &l2).iter().all(|e| e.abs() < 1e-12));
        let (v1, q1) = pure::symmetric_eigen(a.view()).unwrap();
        let (v2, q2) = lapack::symmetric_eigen(a.view()).unwrap();
        assert!((&v1 - &v2).iter().all(|e| e.abs() < 1e-12));
        // Eigenvectors agree up to sign.
        for c in 0..3 {
            let d = q1.column(c).dot(&q2.column(c)).abs();
            assert!((d - 1.0).abs() < 1e-10);
        }
        let not_pd = arr2(&[[1.0, 2.0], [2.0, 1.0]]);
        let ok = |l: Option<Array2<f64>>| l.is_some_and(|l| l.diag().iter().all(|d| *d > 0.0));
        assert!(!ok(pure::cholesky(not_pd.view())));
        assert!(!ok(lapack::cholesky(not_pd.view())));
    }
}
