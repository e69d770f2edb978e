//! The hierarchical posterior (`rlgrad::bayes::Hierarchical`): its gradient against finite
//! differences for several models and both correlation structures, its value against an
//! independent transcription of the model, and bad input.

use ndarray::Array1;
use proptest::prelude::*;
use rlgrad::bayes::{Correlation, Hierarchical, HyperPrior};
use rlgrad::data::{MISSED, Session, Subject};
use rlgrad::fit::FitModel;
use rlgrad::prelude::*;
use rlgrad::task::GoNoGo;
use rlgrad::testing::{CheckOptions, check_term};

/// A bandit subject from (action, reward) pairs; actions ≥ `n_actions` become missed trials,
/// except the first (a subject makes a choice).
fn subject(id: usize, trials: &[(u32, f64)], n_actions: u32) -> Subject {
    let actions = trials
        .iter()
        .enumerate()
        .map(|(t, &(a, _))| match a {
            a if a < n_actions => a,
            a if t == 0 => a % n_actions,
            _ => MISSED,
        })
        .collect();
    let rewards = trials.iter().map(|&(_, r)| r).collect();
    Subject::new(
        format!("s{id}"),
        vec![Session::bandit("1", actions, rewards).unwrap()],
    )
    .unwrap()
}

fn cohort_strategy() -> impl Strategy<Value = Vec<Vec<(u32, f64)>>> {
    proptest::collection::vec(
        proptest::collection::vec((0u32..3, -1.0..1.0f64), 2..15),
        1..5,
    )
}

/// A go/no-go subject: cues 0–3, actions go (0) / no-go (1), outcomes in {−1, 0, 1}.
fn gng_subject(id: usize, trials: &[(u32, f64)]) -> Subject {
    let states = (0..trials.len() as u32).map(|t| t % 4).collect();
    let actions = trials.iter().map(|&(a, _)| a % 2).collect();
    let rewards = trials.iter().map(|&(_, r)| r.round()).collect();
    Subject::new(
        format!("s{id}"),
        vec![Session::new("1", states, actions, rewards).unwrap()],
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// RW (K = 2), dual-rate RW (K = 3) and go/no-go m1 (a task model, K = 3), with LKJ
    /// correlations of random η or diagonal: gradient (and the Hessian of the gradient) against
    /// central differences at random points, missed trials included.
    #[test]
    fn gradient_against_finite_differences(
        which in 0usize..3,
        lkj in any::<bool>(),
        eta in 0.5..4.0f64,
        trials in cohort_strategy(),
        x in proptest::collection::vec(-1.5..1.5f64, 64),
        scales in proptest::collection::vec(0.3..3.0f64, 3),
    ) {
        let rw = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
        let dual = Model::new(RescorlaWagner::dual(), Softmax::new(), 1, 2).unwrap();
        let gng = GoNoGo::m1().unwrap();
        let (model, subjects): (&dyn FitModel, Vec<Subject>) = match which {
            0 => (&rw, trials.iter().enumerate().map(|(i, t)| subject(i, t, 2)).collect()),
            1 => (&dual, trials.iter().enumerate().map(|(i, t)| subject(i, t, 2)).collect()),
            _ => (&gng, trials.iter().enumerate().map(|(i, t)| gng_subject(i, t)).collect()),
        };
        let k = model.n_params();
        let correlation = if lkj { Correlation::Lkj { eta } } else { Correlation::Diagonal };
        let hyper = HyperPrior::new(vec![0.3; k], scales[..k].to_vec(), scales[..k].iter().map(|s| 1.0 / s).collect())
            .unwrap()
            .with_correlation(correlation)
            .unwrap();
        let data = Dataset::new(subjects).unwrap();
        let post = Hierarchical::new(model, &data, hyper).unwrap();
        prop_assume!(post.dim() <= x.len());
        let x = Array1::from(x[..post.dim()].to_vec());
        let report = check_term(&post, x.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{report}");
    }
}

/// The value against a transcription of the model for K = 2 with LKJ (L = [[1, 0], [r, √(1 −
/// r²)]], r = tanh y, log |J| = log(1 − r²), log LKJ = (η − 1) log(1 − r²)), with each
/// subject's log-likelihood from its own term.
#[test]
fn value_against_a_transcription() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let trials: Vec<Vec<(u32, f64)>> = vec![
        vec![(0, 1.0), (1, 0.0), (0, 1.0), (0, 0.0)],
        vec![(1, 1.0), (1, 1.0), (0, 0.0)],
        vec![(0, 0.5), (2, 1.0), (1, -1.0), (1, 0.0), (0, 1.0)],
    ];
    let subjects: Vec<Subject> = trials
        .iter()
        .enumerate()
        .map(|(i, t)| subject(i, t, 2))
        .collect();
    let data = Dataset::new(subjects.clone()).unwrap();
    let (eta, mm, ms, ts) = (1.7, [0.2, -0.1], [1.5, 2.5], [0.8, 1.2]);
    let hyper = HyperPrior::new(mm.to_vec(), ms.to_vec(), ts.to_vec())
        .unwrap()
        .with_correlation(Correlation::Lkj { eta })
        .unwrap();
    let post = Hierarchical::new(&model, &data, hyper).unwrap();
    let x: [f64; 11] = [0.3, 1.1, -0.4, 0.2, 0.7, 0.5, -1.2, 0.9, 0.1, -0.3, 1.4];
    assert_eq!(post.dim(), x.len());
    let (mu, log_tau, y, z) = (&x[0..2], &x[2..4], x[4], &x[5..]);
    let tau = [log_tau[0].exp(), log_tau[1].exp()];
    let r = y.tanh();
    let mut expected = (eta - 1.0) * (1.0 - r * r).ln() + (1.0 - r * r).ln();
    for a in 0..2 {
        expected += -0.5 * ((mu[a] - mm[a]) / ms[a]).powi(2);
        expected += -0.5 * (tau[a] / ts[a]).powi(2) + log_tau[a];
    }
    for (i, s) in subjects.iter().enumerate() {
        let (z0, z1) = (z[2 * i], z[2 * i + 1]);
        let theta = [
            mu[0] + tau[0] * z0,
            mu[1] + tau[1] * (r * z0 + (1.0 - r * r).sqrt() * z1),
        ];
        expected += -0.5 * (z0 * z0 + z1 * z1);
        expected += model
            .likelihood(s)
            .unwrap()
            .value(Array1::from(theta.to_vec()).view())
            .unwrap();
    }
    let got = post.value(Array1::from(x.to_vec()).view()).unwrap();
    assert!(
        (got - expected).abs() <= 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
    let un = post.unpack(Array1::from(x.to_vec()).view()).unwrap();
    assert!((un.corr[0] - r).abs() < 1e-15);
    assert_eq!(un.tau, tau.to_vec());
}

/// Bad input is a typed error: a hyperprior of the wrong length or with a non-positive
/// scale, a non-positive η, a θ of the wrong length or not finite.
#[test]
fn bad_input_is_an_error() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let data = Dataset::new(vec![subject(0, &[(0, 1.0), (1, 0.0)], 2)]).unwrap();
    let e = Hierarchical::new(&model, &data, HyperPrior::weakly_informative(3));
    assert!(matches!(e, Err(rlgrad::Error::DimensionMismatch { .. })));
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = HyperPrior::new(vec![0.0; 2], vec![1.0, bad], vec![1.0; 2]).unwrap_err();
        assert!(e.to_string().contains("mu_sd[1]"), "{e}");
        let e = HyperPrior::new(vec![0.0; 2], vec![1.0; 2], vec![bad, 1.0]).unwrap_err();
        assert!(e.to_string().contains("tau_sd[0]"), "{e}");
        let e = HyperPrior::weakly_informative(2)
            .with_correlation(Correlation::Lkj { eta: bad })
            .unwrap_err();
        assert!(e.to_string().contains("eta"), "{e}");
    }
    let post = Hierarchical::new(&model, &data, HyperPrior::weakly_informative(2)).unwrap();
    assert!(post.value(Array1::zeros(4).view()).is_err());
    let mut x = Array1::zeros(post.dim());
    x[2] = f64::NAN;
    assert!(matches!(
        post.value(x.view()),
        Err(rlgrad::Error::NonFiniteTheta { .. })
    ));
    // log τ so large that τ overflows: an error naming τ, never a NaN.
    x[2] = 800.0;
    let e = post.value(x.view()).unwrap_err();
    assert!(e.to_string().contains("tau[alpha]"), "{e}");
}

/// A model whose likelihood is flat (0 for every θ): its hierarchical posterior is the prior.
struct Flat(rlgrad::params::ParamLayout);

struct Zero(usize);

impl rlgrad::Term for Zero {
    fn dim(&self) -> usize {
        self.0
    }
    fn add_value_and_grad(
        &self,
        theta: ndarray::ArrayView1<f64>,
        alpha: f64,
        grad: ndarray::ArrayViewMut1<f64>,
    ) -> rlgrad::Result<f64> {
        rlgrad::check::term_args(self.0, theta, grad.len())?;
        rlgrad::check::alpha(alpha)?;
        Ok(0.0)
    }
}

impl FitModel for Flat {
    fn layout(&self) -> &rlgrad::params::ParamLayout {
        &self.0
    }
    fn likelihood<'a>(&'a self, _: &'a Subject) -> rlgrad::Result<Box<dyn rlgrad::Term + 'a>> {
        Ok(Box::new(Zero(self.0.len())))
    }
}

/// Sampling the prior (a flat likelihood, through the model seam): NUTS, the
/// non-centred map, the LKJ factor and its Jacobian together must give the hyperprior's
/// known marginals. K = 3 with LKJ(2): each correlation is 2·Beta(2.5, 2.5) − 1 (mean 0, sd
/// 1/√6); μ ~ N(0, 2²); τ ~ HalfNormal(1) (mean √(2/π), sd √(1 − 2/π)). Means are held to
/// 4 Monte Carlo standard errors (from the bulk ESS), sds to 4 standard errors of the
/// variance's estimate (the ESS of the squared deviations, by the delta method); seed fixed.
#[test]
fn sampling_the_prior_gives_the_hyperprior_marginals() {
    use rlgrad::bayes::{SampleOptions, sample};
    let dual = Model::new(RescorlaWagner::dual(), Softmax::new(), 1, 2).unwrap();
    let model = Flat(dual.layout().clone());
    let data = Dataset::new(vec![subject(0, &[(0, 1.0)], 2), subject(1, &[(1, 0.0)], 2)]).unwrap();
    let post = Hierarchical::new(&model, &data, HyperPrior::weakly_informative(3)).unwrap();
    let options = SampleOptions {
        chains: 4,
        warmup: 500,
        draws: 1000,
        seed: 11,
        ..SampleOptions::default()
    };
    let posterior = sample(&post, &options).unwrap();
    // Rare divergences are possible in the prior's tails (1 in 20 000 draws was seen, seeds 11
    // and 12): at most 0.1% of the draws.
    assert!(
        posterior.divergences() <= 4,
        "{} divergences",
        posterior.divergences()
    );
    let summary = posterior.summary().unwrap();
    let half_normal = (
        (2.0 / std::f64::consts::PI).sqrt(),
        (1.0 - 2.0 / std::f64::consts::PI).sqrt(),
    );
    for row in &summary.rows[..posterior.group_names().len()] {
        let (mean, sd) = if row.name.starts_with("mu[") {
            (0.0, 2.0)
        } else if row.name.starts_with("tau[") {
            half_normal
        } else {
            (0.0, 1.0 / 6f64.sqrt())
        };
        let d = &row.diagnostics;
        assert!(d.rhat < 1.01, "{}: R-hat {}", row.name, d.rhat);
        let z_mean = (row.mean - mean) / d.mcse_mean;
        let g = posterior
            .group_names()
            .iter()
            .position(|n| *n == row.name)
            .unwrap();
        let chains = posterior.group_draws(g).unwrap();
        let squares: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| c.iter().map(|v| (v - row.mean).powi(2)).collect())
            .collect();
        let flat: Vec<f64> = squares.concat();
        let m2 = flat.iter().sum::<f64>() / flat.len() as f64;
        let sd_sq = (flat.iter().map(|v| (v - m2).powi(2)).sum::<f64>() / flat.len() as f64).sqrt();
        let se_var = sd_sq / rlgrad::bayes::ess_mean(&squares).unwrap().sqrt();
        let z_sd = (row.sd - sd) / (se_var / (2.0 * row.sd));
        assert!(
            z_mean.abs() < 4.0,
            "{}: mean {} vs {mean} ({z_mean:.2} se)",
            row.name,
            row.mean
        );
        assert!(
            z_sd.abs() < 4.0,
            "{}: sd {} vs {sd} ({z_sd:.2} se)",
            row.name,
            row.sd
        );
    }
}
