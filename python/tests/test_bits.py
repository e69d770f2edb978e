"""Values, gradients, Hessians and MAP estimates equal to the Rust side's to the last bit
(the fixture is recomputed by the crate's own suite: tests/suite/python_fixture.rs)."""

import numpy as np
import pandas as pd

import rlgrad


def test_loglik_gradient_hessian_bit_for_bit(fixture_csv, expected):
    data = rlgrad.read_csv(fixture_csv)
    for case in expected["models"]:
        model = rlgrad.Model(case["model"], n_states=case["n_states"], n_actions=case["n_actions"])
        theta = np.array(case["theta"])
        for s in case["subjects"]:
            ll, grad, hess = model.loglik(theta, data[s["subject"]], hessian=True)
            where = f"{case['model']}, subject {s['subject']}"
            assert ll == s["loglik"], where
            assert grad.tolist() == s["grad"], where
            assert hess.tolist() == s["hess"], where
            # Without the Hessian: the same value and gradient.
            ll2, grad2 = model.loglik(theta, data[s["subject"]])
            assert ll2 == ll and grad2.tolist() == grad.tolist(), where


def test_from_frame_reads_the_same_bits_as_the_file(fixture_csv, expected):
    df = pd.read_csv(fixture_csv)
    data = rlgrad.Dataset.from_frame(df)
    case = expected["models"][1]
    model = rlgrad.Model(case["model"], n_states=2, n_actions=2)
    for s in case["subjects"]:
        ll, grad = model.loglik(np.array(case["theta"]), data[s["subject"]])
        assert ll == s["loglik"] and grad.tolist() == s["grad"]


def test_map_bit_for_bit_on_any_thread_count(fixture_csv, expected):
    data = rlgrad.read_csv(fixture_csv)
    spec = expected["map_rw"]
    model = rlgrad.Model("rw", n_states=spec["n_states"], n_actions=spec["n_actions"])
    for threads in (1, 2):
        fits = rlgrad.fit_map(model, data, seed=spec["seed"], threads=threads)
        assert len(fits) == len(spec["fits"])
        for row, want in zip(fits.itertuples(), spec["fits"]):
            assert row.subject == want["subject"]
            assert [row.theta_alpha, row.theta_beta] == want["theta"]
            assert row.log_posterior == want["log_posterior"]


def test_non_contiguous_and_other_dtypes_of_theta(fixture_csv, expected):
    data = rlgrad.read_csv(fixture_csv)
    case = expected["models"][0]
    model = rlgrad.Model("rw", n_states=2)
    s = case["subjects"][0]
    strided = np.array([[case["theta"][0], 9.0], [case["theta"][1], 9.0]])[:, 0]
    assert not strided.flags["C_CONTIGUOUS"]
    assert model.loglik(strided, data[s["subject"]])[0] == s["loglik"]
    assert model.loglik(list(case["theta"]), data[s["subject"]])[0] == s["loglik"]
    ints = np.array([0, 1], dtype=np.int32)
    assert model.loglik(ints, data[0])[0] == model.loglik(np.array([0.0, 1.0]), data[0])[0]
