//! Population fitting: EM recovers a simulated population, sharded E-steps merge to the
//! unsharded one, repaired Hessians are counted, iBIC equals a brute-force computation,
//! BIC/AIC/Laplace match their formulas, `compare` picks the generating model, parameter and
//! model recovery report what they should, and bad input gives typed errors.

use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut1, arr1, arr2};
use rlgrad::fit::{
    self, Candidate, CompareOptions, Covariance, Criterion, EStep, EStepTask, EmOptions, EmRun,
    FitModel, ModelRecoveryOptions, RecoveryFit, Scale, Simulate, Simulator, Truth,
};
use rlgrad::prelude::*;
use rlgrad::{Result, check};

type Rw = Model<RescorlaWagner, Softmax>;

fn rw() -> Rw {
    Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap()
}

fn reversal(_: usize) -> Result<Bandit> {
    Bandit::new(vec![0.8, 0.2])?.with_reversals(30)
}

/// The population of the EM and recovery tests: logit α ~ N(−0.5, 0.6²), log β ~ N(1.4, 0.3²)
/// (α ≈ 0.38, β ≈ 4), independent.
fn population() -> MvGaussian {
    MvGaussian::diagonal(arr1(&[-0.5, 1.4]), arr1(&[0.36, 0.09])).unwrap()
}

fn quick_em() -> EmOptions {
    EmOptions {
        covariance: Covariance::Diagonal,
        max_iterations: 60,
        tolerance: 1e-5,
        mu_tolerance: 1e-3,
        ..EmOptions::default()
    }
}

#[test]
fn em_recovers_the_population_mean_and_variances() {
    let sim = Simulator::new(rw(), reversal, 100).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let rec = fit::parameter_recovery(
        &sim,
        Truth::Population(&population(), 60),
        &RecoveryFit::Em(quick_em()),
        &mut rng,
    )
    .unwrap();
    let em = rec.em.as_ref().unwrap();
    assert!(em.converged, "{} iterations", em.trace.len());
    let pop = population();
    // μ: within 3 standard errors of the mean of the 60 subjects' draws, where the SE counts
    // the population spread and the mean posterior variance (the spread of θ̂ around μ).
    let n = 60.0;
    for k in 0..2 {
        let true_var = pop.covariance()[[k, k]];
        let se = ((true_var + em.sigma[[k, k]]) / n).sqrt();
        let d = (em.mu[k] - pop.mean()[k]).abs();
        assert!(
            d < 3.0 * se,
            "mu[{k}] = {} vs {}: {d} > 3 SE = {}",
            em.mu[k],
            pop.mean()[k],
            3.0 * se
        );
        // Σₖₖ: within a factor of 2.5 (the SE of a variance from 60 subjects is about 18%,
        // and 100 trials leave each θ̂ uncertain).
        let ratio = em.sigma[[k, k]] / true_var;
        assert!(
            (0.4..2.5).contains(&ratio),
            "sigma[{k},{k}] = {} vs {true_var}",
            em.sigma[[k, k]]
        );
    }
    // Summed log posterior of the EM trace: non-decreasing up to the optimiser's tolerance.
    for w in em.trace.windows(2) {
        assert!(w[1].log_posterior > w[0].log_posterior - 1e-3 * w[0].log_posterior.abs());
    }
}

#[test]
fn parameter_recovery_by_map_correlates_and_reports_every_subject() {
    let sim = Simulator::new(rw(), reversal, 200).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let pop = population();
    let rec = fit::parameter_recovery(
        &sim,
        Truth::Population(&pop, 30),
        &RecoveryFit::Map(pop.clone(), MapOptions::default()),
        &mut rng,
    )
    .unwrap();
    assert_eq!(rec.subjects.len(), 30);
    assert_eq!(rec.n_failed(), 0);
    assert_eq!(rec.names, ["alpha", "beta"]);
    // Tolerance: r > 0.6 on θ for both parameters (200 trials, 30 subjects; measured ≈ 0.8).
    for s in rec.stats(Scale::Theta) {
        assert!(s.correlation > 0.6, "{s:?}");
        assert_eq!(s.n, 30);
    }
    // The figures are those of recovery_stats over the pairs, on both scales.
    for scale in [Scale::Theta, Scale::Natural] {
        for k in 0..2 {
            let (x, y) = rec.pairs(k, scale);
            assert_eq!(
                fit::recovery_stats(&rec.names[k], &x, &y).unwrap(),
                rec.stats(scale)[k]
            );
        }
    }
    // Natural values are the transforms of θ.
    let s0 = &rec.subjects[0];
    let alpha = 1.0 / (1.0 + (-s0.true_theta[0]).exp());
    assert!((s0.true_natural[0] - alpha).abs() < 1e-12);
    // Reproducible from the caller's generator.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let again = fit::parameter_recovery(
        &sim,
        Truth::Population(&pop, 30),
        &RecoveryFit::Map(pop.clone(), MapOptions::default()),
        &mut rng,
    )
    .unwrap();
    assert_eq!(again.subjects, rec.subjects);
    assert!(rec.table().contains("| alpha | 30 |"));
}

#[test]
fn recovery_stats_match_a_hand_computation() {
    // x = (1, 2, 3, 4), y = (2, 2, 5, 3): d = y − x = (1, 0, 2, −1).
    let s = fit::recovery_stats("p", &[1.0, 2.0, 3.0, 4.0], &[2.0, 2.0, 5.0, 3.0]).unwrap();
    assert!((s.bias - 0.5).abs() < 1e-15); // (1 + 0 + 2 − 1)/4
    assert!((s.rmse - 1.5_f64.sqrt()).abs() < 1e-15); // √((1 + 0 + 4 + 1)/4)
    // x̄ = 2.5, ȳ = 3; Σ(x−x̄)(y−ȳ) = (−1.5)(−1) + (−.5)(−1) + (.5)(2) + (1.5)(0) = 3;
    // Σ(x−x̄)² = 5; Σ(y−ȳ)² = 1 + 1 + 4 + 0 = 6; r = 3/√30.
    assert!((s.correlation - 3.0 / 30_f64.sqrt()).abs() < 1e-15);
    assert!(
        fit::recovery_stats("p", &[1.0, 1.0], &[0.0, 2.0])
            .unwrap()
            .correlation
            .is_nan()
    );
    assert!(matches!(
        fit::recovery_stats("p", &[1.0], &[]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        fit::recovery_stats("p", &[], &[]),
        Err(Error::EmptyData { .. })
    ));
}

fn tiny_compare() -> CompareOptions {
    CompareOptions {
        em: EmOptions {
            max_iterations: 8,
            tolerance: 1e-4,
            mu_tolerance: 1e-2,
            ..quick_em()
        },
        ibic_samples: 100,
    }
}

#[test]
fn model_recovery_counts_every_cohort_once() {
    let single = Simulator::new(rw(), reversal, 60).unwrap();
    let persev = Simulator::new(
        Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 1, 2).unwrap(),
        reversal,
        60,
    )
    .unwrap();
    let p1 = population();
    let p2 = MvGaussian::diagonal(arr1(&[-0.5, 1.4, 1.0]), arr1(&[0.2, 0.05, 0.1])).unwrap();
    let candidates = [
        Candidate {
            name: "rw",
            model: &single,
            population: &p1,
        },
        Candidate {
            name: "rw+kappa",
            model: &persev,
            population: &p2,
        },
    ];
    let options = ModelRecoveryOptions {
        n_subjects: 6,
        n_cohorts: 2,
        criterion: Criterion::Bic,
        compare: tiny_compare(),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mr = fit::model_recovery(&candidates, &options, &mut rng).unwrap();
    assert_eq!(mr.counts.dim(), (2, 2));
    assert_eq!(mr.counts.sum(), 4);
    for g in 0..2 {
        assert_eq!(mr.counts.row(g).sum(), 2);
        assert!((mr.fractions().row(g).sum() - 1.0).abs() < 1e-15);
    }
    assert_eq!(mr.cohorts.len(), 4);
    assert!(mr.cohorts.iter().all(|c| c.values.len() == 2));
    assert!(mr.table().contains("rw+kappa"));
}

#[test]
fn recovery_bad_input_is_a_typed_error_naming_the_fault() {
    let sim = Simulator::new(rw(), reversal, 20).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let pop = population();
    let map = RecoveryFit::Map(pop.clone(), MapOptions::default());
    let e = fit::parameter_recovery(&sim, Truth::Population(&pop, 0), &map, &mut rng).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { name, .. } if name == "n_subjects"),
        "{e}"
    );
    let e = Simulator::new(rw(), reversal, 0).err().unwrap();
    assert!(
        matches!(&e, Error::InvalidOption { name, .. } if name == "n_trials"),
        "{e}"
    );
    let wrong = MvGaussian::isotropic(3, 0.0, 1.0).unwrap();
    let e =
        fit::parameter_recovery(&sim, Truth::Population(&wrong, 5), &map, &mut rng).unwrap_err();
    assert!(
        matches!(&e, Error::DimensionMismatch { what, expected: 2, found: 3 } if what.contains("population")),
        "{e}"
    );
    let e = fit::parameter_recovery(&sim, Truth::Given(&[]), &map, &mut rng).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    let e = fit::model_recovery(&[], &ModelRecoveryOptions::default(), &mut rng).unwrap_err();
    assert!(
        matches!(&e, Error::EmptyData { what } if what.contains("candidate")),
        "{e}"
    );
    let bad = [Candidate {
        name: "rw",
        model: &sim,
        population: &wrong,
    }];
    let e = fit::model_recovery(&bad, &ModelRecoveryOptions::default(), &mut rng).unwrap_err();
    assert!(
        matches!(&e, Error::DimensionMismatch { what, .. } if what.contains("`rw`")),
        "{e}"
    );
}

/// A cohort of `n` RW subjects × `trials` trials from [`population`].
fn cohort(n: usize, trials: usize, seed: u64) -> Dataset {
    let sim = Simulator::new(rw(), reversal, trials).unwrap();
    let pop = population();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let subjects = (0..n)
        .map(|i| {
            let theta = pop.sample(&mut rng);
            sim.simulate_subject(theta.view(), i, &format!("s{i}"), &mut rng)
                .unwrap()
        })
        .collect();
    Dataset::new(subjects).unwrap()
}

#[test]
fn sharded_e_step_equals_the_unsharded_one() {
    let model = rw();
    let data = cohort(12, 60, 5);
    let prior = population();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let fits = fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng).unwrap();
    let mut all = EStep::new(2);
    for f in &fits {
        all.add(f).unwrap();
    }
    let (mut a, mut b) = (EStep::new(2), EStep::new(2));
    for f in &fits[..5] {
        a.add(f).unwrap();
    }
    for f in &fits[5..] {
        b.add(f).unwrap();
    }
    a.merge(b).unwrap();
    assert_eq!(a.n, all.n);
    let (pa, pall) = (
        a.m_step(Covariance::Full, 1e-6).unwrap(),
        all.m_step(Covariance::Full, 1e-6).unwrap(),
    );
    let scale = 1.0 + all.log_posterior.abs();
    assert!((a.log_posterior - all.log_posterior).abs() < 1e-12 * scale);
    for (x, y) in pa.mean().iter().zip(pall.mean().iter()) {
        assert!((x - y).abs() < 1e-13, "{x} vs {y}");
    }
    for (x, y) in pa.covariance().iter().zip(pall.covariance().iter()) {
        assert!((x - y).abs() < 1e-13, "{x} vs {y}");
    }
}

/// `data` cut into consecutive shards at `cuts` (subject indices).
fn shards(data: &Dataset, cuts: &[usize]) -> Vec<Dataset> {
    let subjects = data.subjects();
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(subjects.len());
    bounds
        .windows(2)
        .map(|w| Dataset::new(subjects[w[0]..w[1]].to_vec()).unwrap())
        .collect()
}

/// |a − b| ≤ tol · max(1, |b|), entry by entry.
fn close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}: {x} vs {y}"
        );
    }
}

#[test]
fn e_step_over_shards_merges_to_the_whole_cohorts() {
    let model = rw();
    let data = cohort(12, 60, 5);
    let options = EmOptions {
        covariance: Covariance::Full,
        ..quick_em()
    };
    let mut run = EmRun::new(2, &options).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    // Iteration 0 (all starts, from the prior mean) and 1 (warm starts from iteration 0).
    for _ in 0..2 {
        let task = run.next_task(&mut rng).unwrap();
        let (whole, whole_fits) = fit::e_step(&model, &data, &task).unwrap();
        let mut merged = EStep::new(2);
        let mut fits = Vec::new();
        for shard in shards(&data, &[5]) {
            let (stats, f) = fit::e_step(&model, &shard, &task).unwrap();
            merged.merge(stats).unwrap();
            fits.extend(f);
        }
        assert_eq!(merged.n, 12);
        assert_eq!(merged.thetas, whole.thetas, "θ̂ bit for bit");
        for (a, b) in fits.iter().zip(&whole_fits) {
            let (a, b) = (a.fit().unwrap(), b.fit().unwrap());
            assert_eq!(
                (&a.subject, &a.theta, &a.covariance),
                (&b.subject, &b.theta, &b.covariance)
            );
            assert_eq!(a.log_posterior.to_bits(), b.log_posterior.to_bits());
        }
        let (pm, pw) = (
            merged.m_step(Covariance::Full, 1e-6).unwrap(),
            whole.m_step(Covariance::Full, 1e-6).unwrap(),
        );
        close(
            "mu",
            pm.mean().as_slice().unwrap(),
            pw.mean().as_slice().unwrap(),
            1e-12,
        );
        close(
            "sigma",
            pm.covariance().as_slice().unwrap(),
            pw.covariance().as_slice().unwrap(),
            1e-12,
        );
        close(
            "log posterior",
            &[merged.log_posterior],
            &[whole.log_posterior],
            1e-12,
        );
        run.update(&merged).unwrap();
    }
}

#[test]
fn em_driven_by_hand_over_three_shards_equals_em() {
    let model = rw();
    let data = cohort(16, 100, 5);
    for covariance in [Covariance::Full, Covariance::Diagonal] {
        let options = EmOptions {
            covariance,
            variance_floor: 1e-3,
            ..quick_em()
        };
        let want = fit::em(&model, &data, &options, &mut ChaCha8Rng::seed_from_u64(21)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut run = EmRun::new(model.n_params(), &options).unwrap();
        let parts = shards(&data, &[4, 9]);
        let mut fits = Vec::new();
        while let Some(task) = run.next_task(&mut rng) {
            // What a worker gets: the task through serde.
            let task: EStepTask =
                serde_json::from_str(&serde_json::to_string(&task).unwrap()).unwrap();
            let mut merged = EStep::new(model.n_params());
            fits.clear();
            for shard in &parts {
                let (stats, f) = fit::e_step(&model, shard, &task).unwrap();
                let stats: EStep =
                    serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
                merged.merge(stats).unwrap();
                fits.extend(f);
            }
            let entry = run.update(&merged).unwrap();
            assert_eq!(entry.iteration, task.iteration);
        }
        assert!(run.is_done());
        let got = run.finish(fits);
        assert!(want.converged, "{covariance:?}: the reference converges");
        assert_eq!(got.converged, want.converged);
        assert_eq!(
            got.trace.len(),
            want.trace.len(),
            "{covariance:?}: iterations"
        );
        close(
            "mu",
            got.mu.as_slice().unwrap(),
            want.mu.as_slice().unwrap(),
            1e-10,
        );
        close(
            "sigma",
            got.sigma.as_slice().unwrap(),
            want.sigma.as_slice().unwrap(),
            1e-10,
        );
        for (g, w) in got.trace.iter().zip(&want.trace) {
            assert_eq!(
                (g.iteration, g.repaired, g.failed),
                (w.iteration, w.repaired, w.failed)
            );
            close(
                "trace log posterior",
                &[g.log_posterior],
                &[w.log_posterior],
                1e-10,
            );
            close(
                "trace log-likelihood",
                &[g.log_likelihood],
                &[w.log_likelihood],
                1e-10,
            );
            close(
                "trace mu",
                g.mu.as_slice().unwrap(),
                w.mu.as_slice().unwrap(),
                1e-10,
            );
            close(
                "trace sigma",
                g.sigma.as_slice().unwrap(),
                w.sigma.as_slice().unwrap(),
                1e-10,
            );
        }
        assert_eq!(got.fits.len(), want.fits.len());
        for (g, w) in got.fits.iter().zip(&want.fits) {
            let (g, w) = (g.fit().unwrap(), w.fit().unwrap());
            assert_eq!(g.subject, w.subject);
            close(
                "fit theta",
                g.theta.as_slice().unwrap(),
                w.theta.as_slice().unwrap(),
                1e-8,
            );
        }
    }
}

#[test]
fn a_subject_in_two_shards_is_an_error_naming_it() {
    let model = rw();
    let data = cohort(4, 30, 3);
    let mut run = EmRun::new(2, &quick_em()).unwrap();
    let task = run.next_task(&mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let parts = shards(&data, &[3]);
    let overlap = Dataset::new(data.subjects()[2..].to_vec()).unwrap();
    let (mut a, _) = fit::e_step(&model, &parts[0], &task).unwrap();
    let (b, _) = fit::e_step(&model, &overlap, &task).unwrap();
    let before = a.clone();
    let err = a.merge(b).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateSubject { subject } if subject == "s2"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`s2`"), "{err}");
    assert_eq!(a, before, "nothing merged on an error");
    // Adding one subject's fit twice is the same error.
    let (_, fits) = fit::e_step(&model, &parts[1], &task).unwrap();
    let mut c = EStep::new(2);
    c.add(&fits[0]).unwrap();
    assert!(matches!(
        c.add(&fits[0]),
        Err(Error::DuplicateSubject { .. })
    ));
    assert_eq!(c.n, 1);
}

#[test]
fn e_step_tasks_and_e_steps_round_trip_through_serde_json() {
    let model = rw();
    let data = cohort(5, 30, 4);
    let mut run = EmRun::new(2, &quick_em()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let first = run.next_task(&mut rng).unwrap();
    let (stats, _) = fit::e_step(&model, &data, &first).unwrap();
    run.update(&stats).unwrap();
    let task = run.next_task(&mut rng).unwrap();
    assert_eq!(task.warm_starts.len(), 5);
    assert_eq!(task.map.n_starts, 1);
    for t in [&first, &task] {
        let json = serde_json::to_string(t).unwrap();
        let back: EStepTask = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, t);
        assert_eq!(back.prior.precision(), t.prior.precision());
    }
    let back: EStep = serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
    assert_eq!(back, stats);
    // A prior read back is validated again.
    let json = serde_json::to_string(&task).unwrap().replacen(
        "\"covariance\":{\"v\":1,\"dim\":[2,2],\"data\":[",
        "\"covariance\":{\"v\":1,\"dim\":[2,2],\"data\":[-",
        1,
    );
    assert!(serde_json::from_str::<EStepTask>(&json).is_err(), "{json}");
}

#[test]
fn em_run_refuses_updates_it_did_not_ask_for() {
    let model = rw();
    let data = cohort(6, 30, 4);
    let mut run = EmRun::new(2, &quick_em()).unwrap();
    assert!(matches!(
        run.update(&EStep::new(2)),
        Err(Error::InvalidOption { .. })
    ));
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let task = run.next_task(&mut rng).unwrap();
    let (whole, _) = fit::e_step(&model, &data, &task).unwrap();
    assert!(matches!(
        run.update(&EStep::new(3)),
        Err(Error::DimensionMismatch { .. })
    ));
    run.update(&whole).unwrap();
    // A lost shard: fewer subjects than the first iteration.
    let task = run.next_task(&mut rng).unwrap();
    let (part, _) = fit::e_step(&model, &shards(&data, &[4])[0], &task).unwrap();
    let err = run.update(&part).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                expected: 6,
                found: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(run.trace().len(), 1, "nothing recorded on an error");
    assert!(matches!(
        EmRun::new(
            2,
            &EmOptions {
                max_iterations: 0,
                ..quick_em()
            }
        ),
        Err(Error::InvalidOption { .. })
    ));
}

#[test]
fn stale_or_mixed_e_steps_are_refused_and_counts_cannot_overflow() {
    let model = rw();
    let data = cohort(6, 30, 4);
    let halves = shards(&data, &[3]);
    let mut run = EmRun::new(2, &quick_em()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let first = run.next_task(&mut rng).unwrap();
    let (s0, _) = fit::e_step(&model, &data, &first).unwrap();
    let (a0, _) = fit::e_step(&model, &halves[0], &first).unwrap();
    run.update(&s0).unwrap();
    let second = run.next_task(&mut rng).unwrap();
    // The first iteration's E-step again: stale.
    let err = run.update(&s0).unwrap_err();
    assert!(
        err.to_string().contains("not the outstanding task"),
        "{err}"
    );
    // A shard of iteration 0 merged with one of iteration 1: mixed.
    let (b1, _) = fit::e_step(&model, &halves[1], &second).unwrap();
    let mut mixed = a0.clone();
    let err = mixed.merge(b1.clone()).unwrap_err();
    assert!(err.to_string().contains("same task"), "{err}");
    assert_eq!(mixed, a0, "nothing merged on an error");
    // A fresh accumulator takes the task of what it merges; the right shards pass.
    let (a1, _) = fit::e_step(&model, &halves[0], &second).unwrap();
    let mut merged = EStep::new(2);
    merged.merge(a1).unwrap();
    merged.merge(b1).unwrap();
    run.update(&merged).unwrap();
    // Counts read from elsewhere may be anything: an overflow is an error, not a panic.
    let mut huge = EStep::new(2);
    huge.n = usize::MAX;
    let mut one = EStep::new(2);
    one.n = 1;
    assert!(matches!(huge.merge(one), Err(Error::InvalidOption { .. })));
}

/// A one-parameter model whose subject `saddle` has the double well ℓ(x) = −(x² − 1)² (a
/// saddle of the posterior at x = 0, where MAP from the prior mean 0 stops: gradient 0,
/// curvature −ℓ″(0) = −4, more negative than the prior's precision 0.1 is positive) and every
/// other subject the concave ℓ(x) = −2(x − 1)².
struct Wells(ParamLayout);

struct Well {
    saddle: bool,
}

impl Term for Well {
    fn dim(&self) -> usize {
        1
    }
    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        check::term_args(1, theta, grad.len())?;
        check::alpha(alpha)?;
        let x = theta[0];
        let (v, g) = if self.saddle {
            (-(x * x - 1.0).powi(2), -4.0 * x * (x * x - 1.0))
        } else {
            (-2.0 * (x - 1.0).powi(2), -4.0 * (x - 1.0))
        };
        grad[0] += alpha * g;
        Ok(v)
    }
}

impl FitModel for Wells {
    fn layout(&self) -> &ParamLayout {
        &self.0
    }
    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>> {
        Ok(Box::new(Well {
            saddle: subject.id() == "saddle",
        }))
    }
}

#[test]
fn a_repaired_hessian_is_counted_in_the_trace() {
    let model = Wells(ParamLayout::new(vec![ParamSpec::new("x", Transform::Identity)]).unwrap());
    let s = |id: &str| {
        Subject::new(id, vec![Session::bandit("1", vec![0], vec![0.0]).unwrap()]).unwrap()
    };
    let data = Dataset::new(vec![s("saddle"), s("a"), s("b")]).unwrap();
    let options = EmOptions {
        map: MapOptions {
            n_starts: 1,
            ..MapOptions::default()
        },
        max_iterations: 1,
        ..EmOptions::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let em = fit::em(&model, &data, &options, &mut rng).unwrap();
    assert_eq!(em.trace[0].repaired, 1, "{:?}", em.trace[0]);
    assert_eq!(em.trace[0].failed, 0);
    let saddle = em.fits[0].fit().unwrap();
    assert!(saddle.hessian_repaired && saddle.hessian_min_eigenvalue < 0.0);
    assert!(!em.fits[1].fit().unwrap().hessian_repaired);
}

#[test]
fn ibic_equals_a_brute_force_computation() {
    let model = rw();
    let data = cohort(3, 12, 9);
    let prior = population();
    let s = 50;
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let got = fit::ibic(&model, &data, &prior, Covariance::Diagonal, s, &mut rng).unwrap();
    let mut twin = ChaCha8Rng::seed_from_u64(77);
    let draws: Vec<Array1<f64>> = (0..s).map(|_| prior.sample(&mut twin)).collect();
    let mut total = 0.0;
    for (i, subject) in data.subjects().iter().enumerate() {
        let lik = model.likelihood(subject).unwrap();
        let mean_p: f64 = draws
            .iter()
            .map(|t| lik.value(t.view()).unwrap().exp())
            .sum::<f64>()
            / s as f64;
        assert!((got.log_marginal[i] - mean_p.ln()).abs() < 1e-12);
        total += mean_p.ln();
    }
    // Diagonal Σ: G = 2K = 4 group parameters; n = 36 choices.
    let expected = -2.0 * total + 4.0 * 36_f64.ln();
    assert!(
        (got.ibic - expected).abs() < 1e-10 * expected.abs(),
        "{} vs {expected}",
        got.ibic
    );
    assert_eq!(
        (got.n_choices, got.n_group_params, got.n_samples),
        (36, 4, s)
    );
}

#[test]
fn bic_aic_and_laplace_match_their_formulas() {
    let model = rw();
    let data = cohort(1, 40, 4);
    let prior = MvGaussian::new(arr1(&[-0.3, 1.0]), arr2(&[[0.5, 0.1], [0.1, 0.4]])).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let fits = fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng).unwrap();
    let f = fits[0].fit().unwrap();
    let (k, n) = (2.0, 40.0_f64);
    let ll = model
        .likelihood(&data.subjects()[0])
        .unwrap()
        .value(f.theta.view())
        .unwrap();
    assert!((f.log_likelihood - ll).abs() < 1e-12);
    assert!((f.bic - (-2.0 * ll + k * n.ln())).abs() < 1e-10);
    assert!((f.aic - (-2.0 * ll + 2.0 * k)).abs() < 1e-10);
    // ln N(θ̂; μ, Σ) by hand for the 2 × 2 Σ.
    let d = &f.theta - &arr1(&[-0.3, 1.0]);
    let det_s = 0.5 * 0.4 - 0.1 * 0.1;
    let inv = arr2(&[[0.4, -0.1], [-0.1, 0.5]]) / det_s;
    let log_prior =
        -0.5 * d.dot(&inv.dot(&d)) - (2.0 * std::f64::consts::PI).ln() - 0.5 * det_s.ln();
    let h: &Array2<f64> = &f.hessian;
    let det_h = h[[0, 0]] * h[[1, 1]] - h[[0, 1]] * h[[1, 0]];
    let expected = ll + log_prior + (2.0 * std::f64::consts::PI).ln() - 0.5 * det_h.ln();
    assert!(
        (fit::laplace_log_evidence(f) - expected).abs() < 1e-9,
        "{} vs {expected}",
        fit::laplace_log_evidence(f)
    );
}

#[test]
fn compare_picks_the_generating_model_on_a_clear_case() {
    // Strong perseveration (κ = 1.5) that the plain model cannot mimic.
    let persev = Simulator::new(
        Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 1, 2).unwrap(),
        reversal,
        100,
    )
    .unwrap();
    let pop = MvGaussian::diagonal(arr1(&[-0.5, 1.2, 1.5]), arr1(&[0.1, 0.05, 0.05])).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let subjects = (0..12)
        .map(|i| {
            let theta = pop.sample(&mut rng);
            persev
                .simulate_subject(theta.view(), i, &format!("s{i}"), &mut rng)
                .unwrap()
        })
        .collect();
    let data = Dataset::new(subjects).unwrap();
    let single = rw();
    let models: [(&str, &dyn FitModel); 2] = [("rw", &single), ("rw+kappa", &persev)];
    let cmp = fit::compare(&models, &data, &tiny_compare(), &mut rng).unwrap();
    for c in Criterion::ALL {
        assert_eq!(cmp.best(c).1, "rw+kappa", "{}\n{}", c.name(), cmp.table());
    }
}

#[test]
fn population_bad_input_is_a_typed_error() {
    let model = rw();
    let data = cohort(2, 10, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // Empty cohort: a dataset cannot be empty, nor can an E-step be turned into a prior.
    assert!(matches!(Dataset::new(vec![]), Err(Error::EmptyData { .. })));
    assert!(matches!(
        EStep::new(2).m_step(Covariance::Full, 0.0),
        Err(Error::EmptyData { .. })
    ));
    // A prior of the wrong dimension.
    let wrong = MvGaussian::isotropic(3, 0.0, 1.0).unwrap();
    let e = fit::ibic(&model, &data, &wrong, Covariance::Full, 10, &mut rng).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = fit::map(&model, &data, &wrong, &MapOptions::default(), &mut rng).unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch { .. }), "{e}");
    // iBIC with no samples.
    let e = fit::ibic(&model, &data, &population(), Covariance::Full, 0, &mut rng).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { name, .. } if name == "n_samples"),
        "{e}"
    );
    // Every subject agrees and has no posterior spread: Σ = 0 with a zero floor.
    let mut agree = EStep::new(2);
    for _ in 0..3 {
        agree
            .add_point(
                arr1(&[0.5, 1.0]).view(),
                Array2::zeros((2, 2)).view(),
                -1.0,
                -1.0,
                false,
            )
            .unwrap();
    }
    let e = agree.m_step(Covariance::Full, 0.0).unwrap_err();
    assert!(
        matches!(&e, Error::NotPositiveDefinite { what, .. } if what.contains("group covariance")),
        "{e}"
    );
    assert!(agree.m_step(Covariance::Full, 1e-6).is_ok());
}
