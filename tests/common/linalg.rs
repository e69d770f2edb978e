//! Independent linear algebra: nalgebra directly, not the crate's `linalg` seam.

use ndarray::{Array1, Array2};

fn to_nalgebra(a: &Array2<f64>) -> nalgebra::DMatrix<f64> {
    nalgebra::DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// The eigenvalues of a symmetric matrix, ascending.
pub fn eigenvalues(a: &Array2<f64>) -> Array1<f64> {
    let mut v: Vec<f64> = nalgebra::SymmetricEigen::new(to_nalgebra(a))
        .eigenvalues
        .iter()
        .copied()
        .collect();
    v.sort_by(f64::total_cmp);
    Array1::from(v)
}

/// The inverse of an invertible matrix (LU).
pub fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let inv = to_nalgebra(a).try_inverse().expect("an invertible matrix");
    Array2::from_shape_fn(a.dim(), |(i, j)| inv[(i, j)])
}
