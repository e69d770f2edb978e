"""Shared fixtures: the crate's bit-for-bit fixture and a small simulated cohort."""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest

import rlgrad

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "python"


@pytest.fixture(scope="session")
def fixture_csv():
    return FIXTURES / "choices.csv"


@pytest.fixture(scope="session")
def expected():
    return json.loads((FIXTURES / "expected.json").read_text())


@pytest.fixture(scope="session")
def cohort():
    """24 simulated subjects (RW + softmax, 120 trials, a reversal bandit) as a DataFrame,
    with two missed trials."""
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    rng = np.random.default_rng(5)
    n = 24
    params = pd.DataFrame(
        {
            "subject": [f"s{i:02d}" for i in range(1, n + 1)],
            "alpha": rng.uniform(0.15, 0.6, n),
            "beta": rng.uniform(2.0, 7.0, n),
        }
    )
    data = rlgrad.simulate(model, params, 120, seed=11, reversal_every=40)
    cols = data._columns()
    df = pd.DataFrame(cols).drop(columns=["next_state"])
    df["trial"] += 1
    df["action"] = df["action"].astype(float)
    df.loc[[7, 300], "action"] = np.nan
    df.loc[[7, 300], "reward"] = np.nan
    return df
