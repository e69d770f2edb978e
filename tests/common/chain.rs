//! A chain MDP whose action values are known exactly, for policy evaluation with the TD
//! critic.
//!
//! Also compiled into `examples/td_critic.rs` (with `#[path]`), hence the allow of its own.
#![allow(dead_code)]

use ndarray::Array1;
use rlgrad::critic::{FeatureMap, FnFeatures, ReplayBuffer, ShallowCritic, Transition};

/// A deterministic chain: states 0..N−1, actions 0 = left (to max(x − 1, 0)) and
/// 1 = right (to x + 1; from N − 1 the episode ends with reward 1). Every other step costs
/// 0.1. The evaluated policy moves right, except in state 1 where it moves left, so states
/// 0 and 1 cycle forever and the others reach the goal.
pub struct Chain {
    pub n: usize,
    pub gamma: f64,
}

impl Chain {
    pub fn policy(&self, x: usize) -> usize {
        usize::from(x != 1)
    }

    /// (reward, next state or None if terminal).
    pub fn step(&self, x: usize, u: usize) -> (f64, Option<usize>) {
        match u {
            0 => (-0.1, Some(x.saturating_sub(1))),
            _ if x + 1 == self.n => (1.0, None),
            _ => (-0.1, Some(x + 1)),
        }
    }

    /// The index of (x, u) in the value table.
    pub fn index(&self, x: usize, u: usize) -> usize {
        2 * x + u
    }

    /// The critic's input z for (x, u).
    pub fn z(x: usize, u: usize) -> [f64; 2] {
        [x as f64, u as f64]
    }

    /// Q^π for every (x, u), by solving (I − γ P_π) q = r exactly (Gaussian elimination
    /// with partial pivoting on the 2N × 2N system).
    pub fn exact_q(&self) -> Vec<f64> {
        let k = 2 * self.n;
        let mut a = vec![vec![0.0; k + 1]; k];
        for x in 0..self.n {
            for u in 0..2 {
                let row = self.index(x, u);
                a[row][row] += 1.0;
                let (r, next) = self.step(x, u);
                if let Some(xn) = next {
                    a[row][self.index(xn, self.policy(xn))] -= self.gamma;
                }
                a[row][k] = r;
            }
        }
        for col in 0..k {
            let piv = (col..k)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .expect("non-empty range");
            a.swap(col, piv);
            let pivot_row = a[col].clone();
            for (row, r) in a.iter_mut().enumerate() {
                if row != col {
                    let f = r[col] / pivot_row[col];
                    for (x, y) in r[col..].iter_mut().zip(&pivot_row[col..]) {
                        *x -= f * y;
                    }
                }
            }
        }
        (0..k).map(|i| a[i][k] / a[i][i]).collect()
    }

    /// Pushes the transition from (x, u): (z, r, z₊ = (x₊, π(x₊))), or a terminal one.
    pub fn push(&self, buffer: &mut ReplayBuffer, x: usize, u: usize) -> rlgrad::Result<()> {
        let z = Self::z(x, u);
        let (r, next) = self.step(x, u);
        match next {
            Some(xn) => {
                let zn = Self::z(xn, self.policy(xn));
                buffer.push(Transition::new(z[..].into(), r, zn[..].into()))
            }
            None => buffer.push(Transition::terminal(z[..].into(), r)),
        }
    }

    /// Every (x, u) once.
    pub fn buffer(&self) -> ReplayBuffer {
        let mut b = ReplayBuffer::new(2 * self.n, 2).unwrap();
        for x in 0..self.n {
            for u in 0..2 {
                self.push(&mut b, x, u).unwrap();
            }
        }
        b
    }

    /// One-hot features of (x, u) (clamped, so any finite z is safe).
    pub fn one_hot(&self) -> FnFeatures<impl Fn(&[f64], &mut [f64]) + Send + Sync + Clone + use<>> {
        let n = self.n;
        FnFeatures::new(2, 2 * n, move |z: &[f64], out: &mut [f64]| {
            out.fill(0.0);
            let x = (z[0].max(0.0) as usize).min(n - 1);
            let u = (z[1].max(0.0) as usize).min(1);
            out[2 * x + u] = 1.0;
        })
    }

    /// max over (x, u) of |Q̂(x, u) − q(x, u)|, and the table of Q̂ (indexed as `q`).
    pub fn value_error<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        omega: &Array1<f64>,
        q: &[f64],
        ws: &mut rlgrad::critic::CriticWorkspace,
    ) -> rlgrad::Result<(f64, Vec<f64>)> {
        let mut table = Vec::with_capacity(q.len());
        let mut worst = 0.0_f64;
        for x in 0..self.n {
            for u in 0..2 {
                let z = Self::z(x, u);
                let v = critic.value(omega.view(), z[..].into(), ws)?;
                worst = worst.max((v - q[self.index(x, u)]).abs());
                table.push(v);
            }
        }
        Ok((worst, table))
    }

    /// max over (x, u) of |Q̂(x, u) − q(x, u)|.
    pub fn max_value_error<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        omega: &Array1<f64>,
        q: &[f64],
    ) -> f64 {
        let mut ws = critic.workspace();
        self.value_error(critic, omega, q, &mut ws).unwrap().0
    }
}
