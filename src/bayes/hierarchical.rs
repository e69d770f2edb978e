//! [`Hierarchical`]: the joint log density of a cohort's parameters and their group, with
//! its exact gradient, as a [`Term`] (the density NUTS samples).

use ndarray::{ArrayView1, ArrayViewMut1};

use super::hyperprior::{Correlation, HyperPrior};
use super::lkj;
use crate::check;
use crate::cohort::Cohort;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::FitModel;
use crate::params::ParamLayout;
use crate::term::Term;

/// The hierarchical model of a cohort, non-centred, as one log density over an unconstrained
/// vector x:
///
/// ```text
/// x = [ μ (K) | log τ (K) | y (K(K−1)/2, LKJ only) | z₁ … zₙ (n × K) ]
/// θᵢ = μ + diag(τ) · L_Ω · zᵢ          L_Ω = the Cholesky factor of Ω from y (lkj)
/// log p(x | data) = Σᵢ ℓᵢ(θᵢ) − ½ Σᵢ ‖zᵢ‖² + Σₖ log N(μₖ; m, s²)
///                   + Σₖ [log HalfNormal(τₖ; s_τ) + log τₖ] + log LKJ(L_Ω | η) + log |J_Ω|
/// ```
///
/// up to a constant, where ℓᵢ is subject i's log-likelihood under the model (any
/// [`FitModel`], through its [`FitModel::cohort`], so a model with a fast cohort kernel uses
/// it). The gradient is exact: the cohort's gradients pulled back through the non-centred map
/// by hand, and the correlation factor's reverse pass.
/// [`check_term`](crate::testing::check_term) holds it to finite differences.
///
/// ```
/// use rlgrad::bayes::{Hierarchical, HyperPrior};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let s = |id: &str, a: Vec<u32>| -> rlgrad::Result<Subject> {
///     let r = vec![1.0; a.len()];
///     Subject::new(id, vec![Session::bandit("1", a, r)?])
/// };
/// let data = Dataset::new(vec![s("a", vec![0, 0, 1])?, s("b", vec![1, 1, 0])?])?;
/// let post = Hierarchical::new(&model, &data, HyperPrior::weakly_informative(2))?;
/// assert_eq!(post.dim(), 2 + 2 + 1 + 2 * 2);
/// let x = ndarray::Array1::zeros(post.dim());
/// assert!(post.value(x.view())?.is_finite());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct Hierarchical<'a> {
    cohort: Box<dyn Cohort + 'a>,
    layout: ParamLayout,
    subject_ids: Vec<String>,
    hyper: HyperPrior,
    n: usize,
    k: usize,
    /// Free correlation numbers: K(K−1)/2 with LKJ, 0 when diagonal.
    m: usize,
    eta: f64,
}

/// The buffers of one evaluation of [`Hierarchical`], kept by a sampler's chain so that its
/// evaluations allocate nothing.
pub(crate) struct Scratch {
    thetas: Vec<f64>,
    grads: Vec<f64>,
    values: Vec<f64>,
    /// L zᵢ, n × K.
    w: Vec<f64>,
    l: Vec<f64>,
    l_bar: Vec<f64>,
    /// τ = exp(log τ), K.
    tau: Vec<f64>,
}

/// The group-level quantities and the subjects' θ at one point x.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpacked {
    /// μ, the group mean on the θ scale (K).
    pub mu: Vec<f64>,
    /// τ, the group standard deviations on the θ scale (K).
    pub tau: Vec<f64>,
    /// Ω's entries below the diagonal, row by row (Ω₁₀, Ω₂₀, Ω₂₁, …); empty when diagonal.
    pub corr: Vec<f64>,
    /// θᵢ for every subject, n × K row-major.
    pub thetas: Vec<f64>,
}

impl<'a> Hierarchical<'a> {
    /// The hierarchical model of `model` over `data`'s subjects under `hyper`.
    ///
    /// # Errors
    /// A subject the model cannot explain (as [`FitModel::likelihood`]); a hyperprior whose
    /// length is not the model's K, or with an invalid entry; more than 64 parameters;
    /// sizes whose product overflows.
    pub fn new(model: &'a dyn FitModel, data: &'a Dataset, hyper: HyperPrior) -> Result<Self> {
        let k = model.n_params();
        hyper.check(k)?;
        if k > lkj::MAX_K {
            return Err(Error::invalid_option(
                "parameters per subject",
                k,
                format!("the hierarchical model takes at most {}", lkj::MAX_K),
            ));
        }
        let cohort = model.cohort(data.subjects())?;
        let n = cohort.n_subjects();
        let (m, eta) = match hyper.correlation() {
            Correlation::Lkj { eta } => (lkj::n_free(k), eta),
            Correlation::Diagonal => (0, 1.0),
        };
        n.checked_mul(k)
            .and_then(|nk| nk.checked_add(2 * k + m))
            .filter(|&d| d <= check::MAX_FLOATS)
            .ok_or_else(|| {
                Error::invalid_option("subjects × parameters", n, "too many to hold in memory")
            })?;
        Ok(Hierarchical {
            cohort,
            layout: model.layout().clone(),
            subject_ids: data.subjects().iter().map(|s| s.id().to_string()).collect(),
            hyper,
            n,
            k,
            m,
            eta,
        })
    }

    /// The number of subjects n.
    pub fn n_subjects(&self) -> usize {
        self.n
    }

    /// The number of parameters K per subject.
    pub fn n_params(&self) -> usize {
        self.k
    }

    /// The model's parameter layout (names and transforms of θᵢ).
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The subjects' ids, in the data's order.
    pub fn subject_ids(&self) -> &[String] {
        &self.subject_ids
    }

    /// The hyperprior.
    pub fn hyper_prior(&self) -> &HyperPrior {
        &self.hyper
    }

    /// The number of free correlation numbers y (K(K−1)/2 with LKJ, 0 when diagonal).
    pub fn n_corr(&self) -> usize {
        self.m
    }

    /// The names of the coordinates of x: `mu[p]`, `log_tau[p]`, `corr_free[i,j]`,
    /// `z[subject,p]`.
    pub fn coordinate_names(&self) -> Vec<String> {
        let names: Vec<&str> = self.layout.names().collect();
        let mut out = Vec::with_capacity(self.dim());
        out.extend(names.iter().map(|p| format!("mu[{p}]")));
        out.extend(names.iter().map(|p| format!("log_tau[{p}]")));
        for i in 1..self.k {
            for j in 0..i {
                if self.m > 0 {
                    out.push(format!("corr_free[{},{}]", names[i], names[j]));
                }
            }
        }
        for s in &self.subject_ids {
            out.extend(names.iter().map(|p| format!("z[{s},{p}]")));
        }
        out
    }

    /// μ, τ, Ω and every θᵢ at x.
    ///
    /// # Errors
    /// x of the wrong length or not finite; τ = exp(log τ) overflowing.
    pub fn unpack(&self, x: ArrayView1<f64>) -> Result<Unpacked> {
        let x = crate::slices::contiguous(&x);
        check::theta(Term::dim(self), &x)?;
        let mut scratch = self.scratch();
        let k = self.k;
        let mut group = vec![0.0; self.n_group()];
        self.unpack_into(&x, &mut scratch, &mut group)?;
        Ok(Unpacked {
            mu: group[..k].to_vec(),
            tau: group[k..2 * k].to_vec(),
            corr: group[2 * k..].to_vec(),
            thetas: scratch.thetas,
        })
    }

    /// The number of group quantities: μ, τ and Ω's entries below the diagonal.
    pub(crate) fn n_group(&self) -> usize {
        2 * self.k + self.m
    }

    /// The names of the group quantities: `mu[p]`, `tau[p]`, `corr[p,q]`.
    pub(crate) fn group_names(&self) -> Vec<String> {
        let names: Vec<&str> = self.layout.names().collect();
        let mut out: Vec<String> = names.iter().map(|p| format!("mu[{p}]")).collect();
        out.extend(names.iter().map(|p| format!("tau[{p}]")));
        if self.m > 0 {
            for i in 1..self.k {
                for j in 0..i {
                    out.push(format!("corr[{},{}]", names[j], names[i]));
                }
            }
        }
        out
    }

    /// Writes μ, τ and Ω's lower entries at x into `group` and returns every θᵢ (n × K, in
    /// the scratch).
    pub(crate) fn unpack_into<'s>(
        &self,
        x: &[f64],
        s: &'s mut Scratch,
        group: &mut [f64],
    ) -> Result<&'s [f64]> {
        let k = self.k;
        self.fill_thetas(x, s)?;
        group[..k].copy_from_slice(&x[..k]);
        for a in 0..k {
            group[k + a] = x[k + a].exp();
        }
        let mut at = 2 * k;
        if self.m > 0 {
            let l = &s.l;
            for i in 1..k {
                for j in 0..i {
                    group[at] = (0..=j).map(|c| l[i * k + c] * l[j * k + c]).sum();
                    at += 1;
                }
            }
        }
        Ok(&s.thetas)
    }

    pub(crate) fn dim_u64(&self) -> u64 {
        Term::dim(self) as u64
    }

    pub(crate) fn scratch(&self) -> Scratch {
        let (n, k) = (self.n, self.k);
        Scratch {
            thetas: vec![0.0; n * k],
            grads: vec![0.0; n * k],
            values: vec![0.0; n],
            w: vec![0.0; n * k],
            l: vec![0.0; k * k],
            l_bar: vec![0.0; k * k],
            tau: vec![0.0; k],
        }
    }

    /// Fills L, w = L zᵢ and θᵢ from x (checked by the caller); returns the correlation
    /// factor's log |J| + log LKJ.
    fn fill_thetas(&self, x: &[f64], s: &mut Scratch) -> Result<f64> {
        let (k, m) = (self.k, self.m);
        let mu = &x[..k];
        let log_tau = &x[k..2 * k];
        let z = &x[2 * k + m..];
        let lp_l = if m > 0 {
            lkj::forward(k, self.eta, &x[2 * k..2 * k + m], &mut s.l)
        } else {
            s.l.fill(0.0);
            for a in 0..k {
                s.l[a * k + a] = 1.0;
            }
            0.0
        };
        for (a, &lt) in log_tau.iter().enumerate() {
            s.tau[a] = check::finite_result(lt.exp(), log_tau, || {
                format!("tau[{}] = exp(log_tau)", self.layout.specs()[a].name)
            })?;
        }
        for i in 0..self.n {
            let zi = &z[i * k..(i + 1) * k];
            for (a, (&m, &t)) in mu.iter().zip(&s.tau).enumerate() {
                let row = &s.l[a * k..a * k + a + 1];
                let wa: f64 = row.iter().zip(zi).map(|(l, z)| l * z).sum();
                s.w[i * k + a] = wa;
                s.thetas[i * k + a] = m + t * wa;
            }
        }
        Ok(lp_l)
    }

    /// log p(x | data) (up to a constant) and, when `grad` is given, its gradient written
    /// into it. x is checked by the caller. Also leaves every subject's ℓᵢ in
    /// `s.values`.
    pub(crate) fn log_density(
        &self,
        x: &[f64],
        grad: Option<&mut [f64]>,
        s: &mut Scratch,
    ) -> Result<f64> {
        let (n, k, m) = (self.n, self.k, self.m);
        let lp_l = self.fill_thetas(x, s)?;
        match grad {
            None => self.cohort.values(&s.thetas, &mut s.values)?,
            Some(_) => self
                .cohort
                .values_and_grads(&s.thetas, &mut s.values, &mut s.grads)?,
        }
        let mu = &x[..k];
        let log_tau = &x[k..2 * k];
        let z = &x[2 * k + m..];
        let (mm, ms, ts) = (
            self.hyper.mu_mean(),
            self.hyper.mu_sd(),
            self.hyper.tau_sd(),
        );
        let mut lp =
            s.values.iter().sum::<f64>() + lp_l - 0.5 * z.iter().map(|v| v * v).sum::<f64>();
        for a in 0..k {
            let d = (mu[a] - mm[a]) / ms[a];
            let t = s.tau[a] / ts[a];
            lp += -0.5 * d * d - 0.5 * t * t + log_tau[a];
        }
        if let Some(g) = grad {
            g.fill(0.0);
            let (g_mu, rest) = g.split_at_mut(k);
            let (g_lt, rest) = rest.split_at_mut(k);
            let (g_y, g_z) = rest.split_at_mut(m);
            s.l_bar.fill(0.0);
            for i in 0..n {
                let gi = &s.grads[i * k..(i + 1) * k];
                let zi = &z[i * k..(i + 1) * k];
                let wi = &s.w[i * k..(i + 1) * k];
                let gzi = &mut g_z[i * k..(i + 1) * k];
                for a in 0..k {
                    let tg = s.tau[a] * gi[a];
                    g_mu[a] += gi[a];
                    g_lt[a] += tg * wi[a];
                    // z̄ᵢ = Lᵀ (τ ∘ gᵢ); L̄ₐᵦ = Σᵢ τₐ gᵢₐ zᵢᵦ.
                    for b in 0..=a {
                        gzi[b] += s.l[a * k + b] * tg;
                        s.l_bar[a * k + b] += tg * zi[b];
                    }
                }
                for b in 0..k {
                    gzi[b] -= zi[b];
                }
            }
            for a in 0..k {
                let tau = s.tau[a];
                g_mu[a] -= (mu[a] - mm[a]) / (ms[a] * ms[a]);
                g_lt[a] += 1.0 - tau * tau / (ts[a] * ts[a]);
            }
            if m > 0 {
                lkj::backward(k, self.eta, &x[2 * k..2 * k + m], &s.l, &s.l_bar, g_y);
            }
            check::finite_result(lp, x, || "hierarchical log density".to_string())?;
            if let Some(bad) = g.iter().position(|v| !v.is_finite()) {
                return Err(Error::non_finite_result(
                    format!("gradient of the hierarchical log density at coordinate {bad}"),
                    x.to_vec(),
                ));
            }
            return Ok(lp);
        }
        check::finite_result(lp, x, || "hierarchical log density".to_string())
    }

    /// Every subject's log-likelihood ℓᵢ(θᵢ) at x (the pointwise log-likelihoods of
    /// LOO and WAIC), into `out` (n entries).
    pub(crate) fn subject_log_liks(
        &self,
        x: &[f64],
        s: &mut Scratch,
        out: &mut [f64],
    ) -> Result<()> {
        self.fill_thetas(x, s)?;
        self.cohort.values(&s.thetas, out)
    }
}

impl Term for Hierarchical<'_> {
    fn dim(&self) -> usize {
        2 * self.k + self.m + self.n * self.k
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        check::term_args(self.dim(), theta, grad.len())?;
        check::alpha(alpha)?;
        let x = crate::slices::contiguous(&theta);
        let mut s = self.scratch();
        let mut g = vec![0.0; self.dim()];
        let lp = self.log_density(&x, Some(&mut g), &mut s)?;
        grad.iter_mut().zip(&g).for_each(|(o, v)| *o += alpha * v);
        Ok(lp)
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let x = crate::slices::contiguous(&theta);
        check::theta(Term::dim(self), &x)?;
        let mut s = self.scratch();
        self.log_density(&x, None, &mut s)
    }
}
