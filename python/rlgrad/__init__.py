"""rlgrad: values and exact derivatives of reinforcement-learning models, from Python.

The Rust crate rlgrad does the work (with the GIL released, on its own thread pool); this
package is its front: pandas DataFrames in and out, numpy arrays for θ, gradients and
Hessians, and scipy-ready objectives.

    import numpy as np, pandas as pd, rlgrad
    data = rlgrad.Dataset.from_frame(pd.read_csv("choices.csv"))
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    fits = rlgrad.fit_map(model, data)          # one row per subject
    pop = rlgrad.fit_em(model, data)            # pop.mu, pop.cov, pop.subjects, pop.trace

θ is always the unconstrained parameter vector in `model.params` order (logit of learning
rates, log of inverse temperatures, ...); DataFrames also give the natural values.
"""

from __future__ import annotations

from . import dra
from ._fit import (
    ModelRecovery,
    Population,
    Recovery,
    compare,
    e_step,
    em_result,
    fit_em,
    fit_map,
    latents,
    model_recovery,
    models,
    read_csv,
    recover,
    simulate,
)
from ._rlgrad import (
    Dataset,
    EmRun,
    EStep,
    EStepTask,
    Gaussian,
    Model,
    Objective,
    Subject,
    __version__,
)
from ._bayes import Posterior, sample

__all__ = [
    "Dataset",
    "EStep",
    "EStepTask",
    "EmRun",
    "Gaussian",
    "Model",
    "Objective",
    "ModelRecovery",
    "Population",
    "Recovery",
    "Posterior",
    "Subject",
    "compare",
    "dra",
    "e_step",
    "em_result",
    "fit_em",
    "fit_map",
    "latents",
    "model_recovery",
    "models",
    "recover",
    "read_csv",
    "sample",
    "simulate",
    "__version__",
]
