//! The menu's unit tests: names, builds, the default prior and values, the manual's texts.

use super::built::PROBE;
use super::*;
use crate::Error;
use crate::env::Bandit;
use crate::prior::Prior;

/// `MenuModel` is held across threads by the Python package, and copied.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<MenuModel>();
    shareable::<ModelName>();
};

#[test]
fn the_default_prior_follows_the_documented_rules() {
    let names: Vec<String> = [
        "alpha_1", "lambda", "w", "alpha_c", "beta", "beta_2", "beta_12", "kappa", "beta_c",
        "lapse", "beta_x", "xi", "epsilon", "rho_pun", "pi",
    ]
    .map(String::from)
    .to_vec();
    let prior = ModelName::Rw.default_prior(&names).unwrap();
    let sd = prior.marginal_sd().unwrap();
    let expected = [
        (0.0, 1.5),
        (0.0, 1.5),
        (0.0, 1.5),
        (0.0, 1.5),
        (1.0, 1.0),
        (1.0, 1.0),
        (1.0, 1.0),
        (0.0, 1.0),
        (0.0, 2.0),
        (-3.0, 1.5),
        (0.0, 2.0), // not an inverse temperature: the fallback
        (-3.0, 1.5),
        (0.0, 1.5),
        (1.0, 1.0),
        (0.0, 2.0),
    ];
    for (i, (mean, s)) in expected.into_iter().enumerate() {
        assert_eq!(prior.mean()[i], mean, "{}", names[i]);
        assert!((sd[i] - s).abs() < 1e-12, "{}: {} vs {s}", names[i], sd[i]);
    }
    let help = prior_help();
    assert!(help.contains("N(-3, 1.5^2)") && help.contains("any other parameter"));
}

#[test]
fn the_restless_bandit_has_its_own_beta_and_kappa() {
    for name in ModelName::ALL {
        let restless = name.plays_restless_bandit();
        let beta = if restless { (-1.6, 1.0) } else { (1.0, 1.0) };
        let kappa = if restless { (0.0, 5.0) } else { (0.0, 1.0) };
        assert_eq!(name.default_prior_of("beta"), beta, "{name}");
        assert_eq!(name.default_prior_of("kappa"), kappa, "{name}");
        assert_eq!(name.default_value("beta"), if restless { 0.2 } else { 4.0 });
        assert_eq!(
            name.default_value("kappa"),
            if restless { 2.0 } else { 0.5 }
        );
    }
}

#[test]
fn every_model_builds_and_the_manual_lists_its_parameters() {
    let help = models_help();
    let bandit = Bandit::new(vec![0.7, 0.2, 0.1]).unwrap();
    for name in ModelName::ALL {
        let built = name.build(&PROBE).unwrap();
        assert_eq!(built.name(), name);
        assert!(help.contains(&format!("  {:<16}", name.name())), "{name:?}");
        assert!(help.contains(&built.names().join(", ")), "{name:?}");
        assert_eq!(built.rw().is_some(), name.has_latents());
        // For a simulation: the bandit's table, or the model's own task.
        let table = Table {
            n_states: 1,
            n_actions: 3,
            bandit: Some(&bandit),
        };
        let sim = name.build(&table).unwrap().simulator(5).unwrap();
        assert_eq!(sim.n_params(), sim.layout().len());
    }
    for line in help.lines() {
        assert!(line.chars().count() <= 92, "{line}");
    }
    assert!(help.contains("beta_1, beta_2, beta_3 (for 3 states)"));
}

#[test]
fn every_name_round_trips_in_kebab_and_snake_case() {
    for name in ModelName::ALL {
        let kebab = name.name();
        let snake = kebab.replace('-', "_");
        for s in [
            kebab.to_string(),
            snake.clone(),
            kebab.to_ascii_uppercase(),
            snake.to_ascii_uppercase(),
        ] {
            assert_eq!(ModelName::from_name(&s).unwrap(), name, "{s}");
            assert_eq!(s.parse::<ModelName>().unwrap(), name, "{s}");
        }
        assert_eq!(name.to_string(), kebab);
        assert!(!name.description().is_empty() && !name.description().ends_with('.'));
    }
    let mut names: Vec<&str> = ModelName::ALL.iter().map(|m| m.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ModelName::ALL.len());
}

#[test]
fn an_unknown_name_is_an_invalid_option_that_lists_the_names() {
    for bad in ["", "rw3", "rw dual", "rw--dual", "Rescorla-Wagner"] {
        let e = ModelName::from_name(bad).unwrap_err();
        assert!(matches!(&e, Error::InvalidOption { name, .. } if name == "model"));
        let message = e.to_string();
        assert!(message.contains(&format!("`{bad}`")), "{message}");
        for name in ModelName::ALL {
            assert!(message.contains(name.name()), "{message}");
        }
    }
}

#[test]
fn every_default_prior_and_default_value_covers_its_model() {
    for name in ModelName::ALL {
        let built = name.build(&PROBE).unwrap();
        let names = built.names();
        let prior = name.default_prior(&names).unwrap();
        assert_eq!(prior.mean().len(), names.len(), "{name}");
        assert_eq!(prior.mean().len(), built.model().layout().len(), "{name}");
        // The default values lie in every parameter's range.
        let values: Vec<(&str, f64)> = names
            .iter()
            .map(|n| (n.as_str(), name.default_value(n)))
            .collect();
        let theta = built.model().layout().theta_from_natural(&values).unwrap();
        assert!(theta.iter().all(|t| t.is_finite()), "{name}: {theta}");
    }
}

#[test]
fn a_task_model_has_its_tasks_layout() {
    let table = Table {
        n_states: 7,
        n_actions: 5,
        bandit: None,
    };
    let hybrid = ModelName::TwoStepHybrid.build(&table).unwrap();
    assert_eq!(
        hybrid.names(),
        [
            "alpha_1", "alpha_2", "lambda", "w", "beta_1", "beta_2", "kappa"
        ]
    );
    assert!(hybrid.rw().is_none() && ModelName::TwoStepHybrid.is_two_step());
    assert_eq!(
        hybrid.own_task_name(),
        Some("the two-step task (Daw et al. 2011)")
    );
    let gng = ModelName::GngM4.build(&table).unwrap();
    assert_eq!(
        gng.names(),
        ["xi", "epsilon", "b", "pi", "rho_rew", "rho_pun"]
    );
    // The restless bandit has one arm per action, whatever the states.
    let kalman = ModelName::KalmanSmep.build(&table).unwrap();
    assert_eq!(kalman.names(), ["beta", "phi", "kappa"]);
    assert!(ModelName::KalmanSmep.plays_restless_bandit());
    // A model that plays the bandit it is given has no task of its own.
    let kernel = ModelName::RwKernel.build(&table).unwrap();
    assert_eq!(kernel.own_task_name(), None);
    assert!(kernel.rw().is_none());
}

#[test]
fn a_rescorla_wagner_model_is_built_for_its_table() {
    let table = Table {
        n_states: 4,
        n_actions: 3,
        bandit: None,
    };
    let built = ModelName::RwPerState.build(&table).unwrap();
    assert_eq!(
        built.names(),
        ["alpha", "beta_1", "beta_2", "beta_3", "beta_4"]
    );
    assert!(built.rw().is_some() && built.own_task_name().is_none());
    // Without a bandit there is nothing to simulate; a table that fits nothing is an error.
    let Err(e) = built.simulator(10) else {
        panic!("simulated without a bandit")
    };
    assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
    assert!(e.to_string().contains("rw-per-state"), "{e}");
    let empty = Table {
        n_states: 0,
        n_actions: 2,
        bandit: None,
    };
    for name in [ModelName::Rw, ModelName::RwKernel] {
        assert!(name.build(&empty).is_err(), "{name}");
    }
}

#[test]
fn a_clone_is_the_same_model() {
    let bandit = Bandit::new(vec![0.8, 0.2]).unwrap();
    let table = Table {
        n_states: 1,
        n_actions: 2,
        bandit: Some(&bandit),
    };
    for name in ModelName::ALL {
        let built = name.build(&table).unwrap();
        let copy = built.clone();
        assert_eq!(copy.name(), name);
        assert_eq!(copy.names(), built.names());
        assert_eq!(copy.own_task_name(), built.own_task_name());
        // Both simulate, each on its own bandit.
        assert!(
            built.simulator(3).is_ok() && copy.simulator(3).is_ok(),
            "{name}"
        );
    }
    let debug = format!("{:?}", ModelName::Rw.build(&table).unwrap());
    assert!(debug.contains("Rw") && debug.contains("alpha"), "{debug}");
}
