"""Garbage into every entry point: a Python exception with the crate's message (naming the
row, line, subject, parameter or value at fault), never a crash of the interpreter."""

import math

import numpy as np
import pandas as pd
import pytest

import rlgrad

GOOD = pd.DataFrame(
    {"subject": ["a"] * 4, "trial": [1, 2, 3, 4], "action": [0, 1, 1, 0], "reward": [1.0, 0.0, 1.0, 0.5]}
)


def frame(**changes):
    df = GOOD.copy()
    for column, (row, value) in changes.items():
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
    return df


@pytest.mark.parametrize(
    "df, match",
    [
        (frame(action=(2, -1)), r"DataFrame row 2 \(index 2\), column `action`: value `-1` is negative"),
        (frame(action=(1, "x")), r"DataFrame row 1 .*column `action`"),
        (frame(reward=(3, math.inf)), r"DataFrame row 3 .*column `reward`"),
        (frame(reward=(0, "nope")), r"DataFrame row 0 .*`reward`.*not a number"),
        (frame(trial=(2, 1)), r"DataFrame row 2 .*column `trial`"),
        (GOOD.drop(columns=["reward"]), r"missing required column `reward`"),
        (GOOD.iloc[0:0], r"empty"),
        (frame(action=(1, 1.5)), r"row 1 .*`action`.*not a whole number"),
    ],
)
def test_bad_frames_name_the_row(df, match):
    if df["action"].dtype == object and all(isinstance(v, (int, float)) for v in df["action"]):
        df["action"] = df["action"].astype(float)
    with pytest.raises(ValueError, match=match):
        rlgrad.Dataset.from_frame(df)


def test_dtypes_of_the_action_column():
    as_int32 = GOOD.assign(action=GOOD["action"].astype(np.int32))
    as_float = GOOD.assign(action=GOOD["action"].astype(float))
    as_text = GOOD.assign(action=GOOD["action"].astype(str))
    base = rlgrad.Dataset.from_frame(GOOD)
    model = rlgrad.Model("rw", "softmax")
    want = model.loglik([0.1, 0.2], base[0])[0]
    for df in (as_int32, as_float, as_text):
        assert model.loglik([0.1, 0.2], rlgrad.Dataset.from_frame(df)[0])[0] == want
    with pytest.raises(TypeError, match="boolean"):
        rlgrad.Dataset.from_frame(GOOD.assign(action=GOOD["action"].astype(bool)))
    with pytest.raises(TypeError, match="DataFrame"):
        rlgrad.Dataset.from_frame({"subject": ["a"]})


def test_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        rlgrad.read_csv(tmp_path / "nothing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,trial,action,reward\ns1,1,0,1\ns1,2,7,oops\n")
    with pytest.raises(ValueError, match=r"line 3, column `reward`"):
        rlgrad.read_csv(bad)
    with pytest.raises(ValueError, match="action_base"):
        rlgrad.read_csv(bad, action_base=2)
    with pytest.raises(ValueError, match=r"line 3, column `action`"):
        rlgrad.read_csv(bad, n_actions=2)
    one_based = tmp_path / "one.csv"
    one_based.write_text("subject,trial,action,reward\ns1,1,1,1\ns1,2,2,0\n")
    with pytest.warns(UserWarning, match="no action is 0"):
        rlgrad.read_csv(one_based)


def test_models_and_parameters():
    with pytest.raises(ValueError, match="no such model.*rw-dual"):
        rlgrad.Model("rw3")
    with pytest.raises(ValueError, match="composes"):
        rlgrad.Model("rw", "logistic")
    with pytest.raises(ValueError, match="n_actions"):
        rlgrad.Model("rw", "softmax", n_actions=0)
    with pytest.raises(ValueError, match="n_states|limit"):
        rlgrad.Model("rw", "softmax", n_actions=2, n_states=2**40)
    with pytest.raises(OverflowError):
        rlgrad.Model("rw", "softmax", n_actions=-1)
    data = rlgrad.Dataset.from_frame(GOOD)
    model = rlgrad.Model("rw", "softmax")
    with pytest.raises(ValueError, match="theta has 3 entries; model rw has 2 parameters"):
        model.loglik([0.0, 1.0, 2.0], data[0])
    with pytest.raises(ValueError, match=r"theta\[1\] \(beta\) = NaN is not finite"):
        model.loglik([0.0, float("nan")], data[0])
    with pytest.raises(ValueError, match="2-d|1-d"):
        model.loglik(np.zeros((2, 2)), data[0])
    with pytest.raises(TypeError, match="complex"):
        model.loglik(np.array([1j, 0]), data[0])
    with pytest.raises(TypeError, match="real numbers"):
        model.loglik(["a", "b"], data[0])
    with pytest.raises(TypeError):
        model.loglik([0.0, 1.0], data)  # a Dataset is not a Subject
    with pytest.raises(KeyError, match="no subject `zz`"):
        data["zz"]
    with pytest.raises(IndexError):
        data[5]
    with pytest.raises(ValueError, match="between 1 and"):
        data.shards(0)
    with pytest.raises(ValueError, match="theta_from_natural|alpha|missing|parameter"):
        model.theta_from_natural({"alpha": 2.0, "beta": 1.0})
    two_states = pd.concat([GOOD, GOOD.assign(subject="b", state=1)]).fillna({"state": 0})
    d2 = rlgrad.Dataset.from_frame(two_states)
    with pytest.raises(ValueError, match="subject `b`.*state"):
        model.loglik([0.0, 1.0], d2["b"])
    with pytest.raises(ValueError, match="subject `b`.*state"):
        model.objective(d2["b"])


def test_priors_and_options():
    with pytest.raises(ValueError, match="not positive definite|positive"):
        rlgrad.Gaussian(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="symmetric|dimension|mismatch"):
        rlgrad.Gaussian(np.zeros(2), np.eye(3))
    with pytest.raises(ValueError):
        rlgrad.Gaussian(np.array([0.0, np.inf]), np.eye(2))
    data = rlgrad.Dataset.from_frame(GOOD)
    model = rlgrad.Model("rw", "softmax")
    with pytest.raises(ValueError, match="dimension"):
        rlgrad.fit_map(model, data, rlgrad.Gaussian(np.zeros(3), np.eye(3)))
    with pytest.raises(ValueError, match="n_starts"):
        rlgrad.fit_map(model, data, n_starts=0)
    with pytest.raises(ValueError, match="threads = 0"):
        rlgrad.fit_map(model, data, threads=0)
    with pytest.raises(ValueError, match="threads = 1000000: at most 1024"):
        rlgrad.fit_map(model, data, threads=10**6)
    with pytest.raises(ValueError, match="covariance"):
        rlgrad.fit_em(model, data, covariance="banded")
    with pytest.raises(ValueError, match="max_iterations"):
        rlgrad.fit_em(model, data, max_iterations=0)
    with pytest.raises(ValueError, match="no models"):
        rlgrad.compare({}, data)
    with pytest.raises(ValueError, match="chains"):
        rlgrad.sample(model, data, chains=0)
    with pytest.raises(ValueError, match="task"):
        rlgrad.dra.train("chess")
    with pytest.raises(ValueError, match="seeds|runs|empty"):
        rlgrad.dra.train("gridworld", runs=0)
    with pytest.raises(ValueError, match="runs = 1000000000000: at most 10000"):
        rlgrad.dra.train("gridworld", runs=10**12)
    with pytest.raises(ValueError, match="n_trials|too large|limit|allocate"):
        model.simulate(np.zeros((1, 2)), 2**62)
    with pytest.raises(ValueError, match="thetas has 3 columns"):
        model.simulate(np.zeros((2, 3)), 10)
    with pytest.raises(ValueError, match="lacks"):
        rlgrad.latents(model, data, pd.DataFrame({"subject": ["a"]}))
    with pytest.raises(ValueError, match="not a pickled"):
        rlgrad.EStep._from_json("{")


@pytest.mark.parametrize("garbage", [None, 3, "x", [], {}, object(), np.zeros(3), float("nan")])
def test_garbage_everywhere_raises_a_python_exception(garbage):
    data = rlgrad.Dataset.from_frame(GOOD)
    model = rlgrad.Model("rw", "softmax")
    calls = [
        lambda: rlgrad.Dataset.from_frame(garbage),
        lambda: rlgrad.read_csv(garbage),
        lambda: rlgrad.Model(garbage),
        lambda: rlgrad.Gaussian(garbage, garbage),
        lambda: model.loglik(garbage, data[0]),
        lambda: model.loglik([0.0, 1.0], garbage),
        lambda: model.objective(garbage),
        lambda: model.objective(data[0], prior=garbage),
        lambda: model.objective(data[0])(garbage),
        lambda: model.natural(garbage),
        lambda: model.theta_from_natural(garbage),
        lambda: model.latents(garbage, data[0]),
        lambda: model.simulate(garbage, 10),
        lambda: rlgrad.fit_map(garbage, data),
        lambda: rlgrad.fit_map(model, garbage),
        lambda: rlgrad.fit_map(model, data, garbage),
        lambda: rlgrad.fit_em(model, garbage),
        lambda: rlgrad.compare(garbage, data),
        lambda: rlgrad.latents(model, data, garbage),
        lambda: rlgrad.simulate(model, garbage, 10),
        lambda: rlgrad.sample(model, garbage),
        lambda: rlgrad.dra.train(garbage),
        lambda: rlgrad.e_step(model, data, garbage),
        lambda: rlgrad.EmRun(garbage),
        lambda: rlgrad.EmRun(model).update(garbage),
        lambda: rlgrad.EStep.merge_all(garbage),
        lambda: data[garbage],
        lambda: data.subset(garbage),
        lambda: data.shards(garbage),
        lambda: rlgrad.recover(garbage, 10),
        lambda: rlgrad.recover(model, 10, params=garbage, population=rlgrad.Gaussian([0, 0], [[1, 0], [0, 1]])),
        lambda: rlgrad.model_recovery(garbage, 10),
    ]
    # None is a valid prior (the likelihood alone; the model's default prior).
    valid_none = {7, 15, 30}
    for i, call in enumerate(calls):
        if garbage is None and i in valid_none:
            continue
        try:
            call()
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError):
            continue
        raise AssertionError(f"call {i} accepted {garbage!r}")


def test_unaligned_arrays_are_read_right():
    data = rlgrad.Dataset.from_frame(GOOD)
    model = rlgrad.Model("rw", "softmax")
    theta = np.frombuffer(bytes(1) + np.array([0.1, 0.2]).tobytes(), dtype=np.float64, offset=1)
    assert not theta.flags.aligned
    assert model.loglik(theta, data[0])[0] == model.loglik(np.array([0.1, 0.2]), data[0])[0]


def test_missing_values_in_frames_read_as_in_files():
    df = pd.DataFrame(
        {
            "subject": ["a", "a", "b", "b"],
            "session": [1.0, 1.0, np.nan, 2.0],
            "trial": [1, 2, 1, 2],
            "action": [0, 1, 1, 0],
            "reward": [1.0, 0.0, 1.0, 0.5],
            "next_state": [np.nan] * 4,
        }
    )
    # A missing session is an empty field, as in a file (session ""), not one called "NA";
    # a missing next_state is none.
    assert rlgrad.Dataset.from_frame(df)["b"].sessions == ["", "2"]
    ok = df.assign(session=[1.0, 1.0, 2.0, 2.0])
    data = rlgrad.Dataset.from_frame(ok)
    assert data["b"].sessions == ["2"]  # whole-number floats are written as integers
    missing_subject = ok.assign(subject=["a", "a", None, "b"])
    with pytest.raises(ValueError, match=r"DataFrame row 2 .*`subject`"):
        rlgrad.Dataset.from_frame(missing_subject)
    with pytest.raises(ValueError, match=r"DataFrame row 1 .*`action`.*too large"):
        rlgrad.Dataset.from_frame(ok.assign(action=[0.0, 1e20, 1.0, 0.0]))
    twice = pd.concat([ok, ok[["reward"]]], axis=1)
    with pytest.raises(ValueError, match="column `reward` appears twice"):
        rlgrad.Dataset.from_frame(twice)
    backwards = ok.assign(trial=[2, 1, 1, 2])
    with pytest.raises(ValueError) as err:
        rlgrad.Dataset.from_frame(backwards)
    assert "DataFrame row 1" in str(err.value) and "line" not in str(err.value)


def test_to_frame_round_trips(fixture_csv):
    data = rlgrad.read_csv(fixture_csv)
    df = data.to_frame()
    assert list(df.columns) == ["subject", "session", "trial", "state", "action", "reward"]
    again = rlgrad.Dataset.from_frame(df)
    model = rlgrad.Model("rw", n_states=2)
    for sid in data.ids:
        assert model.loglik([0.2, 0.4], again[sid])[0] == model.loglik([0.2, 0.4], data[sid])[0]


def test_data_the_model_cannot_explain_is_refused_up_front():
    two_states = pd.concat([GOOD, GOOD.assign(subject="b", state=1)]).fillna({"state": 0})
    data = rlgrad.Dataset.from_frame(two_states)
    with pytest.raises(ValueError, match="subject `b`.*state"):
        rlgrad.fit_map(rlgrad.Model("rw", "softmax"), data)


def test_indexing_and_membership():
    data = rlgrad.Dataset.from_frame(GOOD)
    with pytest.raises(TypeError, match="not a bool"):
        data[True]
    assert 5 not in data and "a" in data and "z" not in data


def test_own_task_models_refuse_a_bandit_and_latents_name_the_models():
    model = rlgrad.Model("gng_m1")
    with pytest.raises(ValueError, match="plays its own task"):
        model.simulate(np.zeros((1, 3)), 10, probs=[0.5, 0.5])
    data = model.simulate(np.zeros((1, 3)), 12)
    with pytest.raises(ValueError, match="no trial-wise latents.*rw_dual"):
        model.latents(np.zeros(3), data[0])


def test_a_pickled_dataset_with_impossible_states_is_refused():
    parts = [("a", [("1", np.array([70000], dtype="<u4").tobytes(), np.array([0], dtype="<u4").tobytes(), np.array([1.0]).tobytes(), None)])]
    with pytest.raises(ValueError, match="state or action at or above 16384"):
        rlgrad.Dataset._from_parts(parts)
