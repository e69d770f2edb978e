"""Parameter and model recovery, and the SVG pictures of fits, from Python."""

import numpy as np
import pandas as pd
import pytest

import rlgrad


def test_parameter_recovery_finds_the_parameters():
    model = rlgrad.Model("rw", "softmax")
    rng = np.random.default_rng(2)
    params = pd.DataFrame({"alpha": rng.uniform(0.2, 0.7, 20), "beta": rng.uniform(2, 8, 20)})
    rec = rlgrad.recover(model, 200, params=params, reversal_every=50, seed=3)
    natural = rec.stats[rec.stats["scale"] == "natural"].set_index("parameter")
    assert natural.loc["beta", "n"] == 20 and not rec.failed
    # With 200 trials, α and β are recovered well (r well above chance for 20 subjects).
    assert natural.loc["alpha", "correlation"] > 0.5
    assert natural.loc["beta", "correlation"] > 0.5
    assert np.allclose(rec.subjects["true_alpha"], params["alpha"])
    assert len(rec.data) == 20 and len(rec.fits) == 20
    assert rec.svg.startswith("<svg") and "alpha" in rec.svg
    again = rlgrad.recover(model, 200, params=params, reversal_every=50, seed=3)
    assert again.subjects.equals(rec.subjects)  # seeded


def test_model_recovery_and_the_comparison_pictures():
    rw = rlgrad.Model("rw", "softmax")
    persev = rlgrad.Model("rw", "softmax_persev")
    mr = rlgrad.model_recovery(
        {"rw": rw, "persev": persev}, 80, n_subjects=6, n_cohorts=1, criterion="bic",
        reversal_every=40, seed=1, ibic_samples=200,
    )
    assert list(mr.counts.index) == ["rw", "persev"]
    assert mr.counts.to_numpy().sum() == 2 and len(mr.cohorts) == 2
    assert np.allclose(mr.fractions.sum(axis=1), 1.0)
    assert mr.svg.startswith("<svg")
    with pytest.raises(ValueError, match="criterion"):
        rlgrad.model_recovery({"rw": rw}, 10, criterion="waic")
    data = rlgrad.simulate(rw, pd.DataFrame({"alpha": [0.3] * 6, "beta": [4.0] * 6}), 60, seed=2)
    pop = rlgrad.fit_em(rw, data, max_iterations=5)
    assert pop.svg.startswith("<svg")
    table = rlgrad.compare({"rw": rw, "persev": persev}, data, max_iterations=5, ibic_samples=100)
    assert table.attrs["svg"].startswith("<svg")
