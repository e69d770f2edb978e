#!/usr/bin/env python3
"""Both sides fit the same model: the PyMC script's likelihood against rlgrad's.

Reads a choices CSV and the results of `rlgrad fit <csv> --model rw --out fits.csv` (one row
per subject: theta_alpha, theta_beta, log_likelihood), evaluates pymc_rw.py's scan likelihood
(the very graph the PyMC model samples) at every subject's fitted theta, and checks that each
subject's log-likelihood equals rlgrad's to 1e-9 relative. Exits non-zero otherwise.

    check_likelihood.py choices.csv fits.csv
"""

import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

from pymc_rw import loglik_graph, pack, read_rlgrad_csv  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data_path, fits_path = sys.argv[1:]
    ids, sessions, n_states, n_actions = read_rlgrad_csv(data_path)
    chosen, in_state, reward, keep, mask, _ = pack(sessions, n_states, n_actions)
    with open(fits_path, newline="") as f:
        fits = {row["subject"]: row for row in csv.DictReader(f)}
    theta = np.array([[float(fits[s]["theta_alpha"]), float(fits[s]["theta_beta"])] for s in ids])
    expected = np.array([float(fits[s]["log_likelihood"]) for s in ids])

    th = pt.matrix("theta")
    alpha = 1.0 / (1.0 + pt.exp(-th[:, 0]))
    beta = pt.exp(th[:, 1])
    ll = loglik_graph(alpha, beta, chosen, in_state, reward, keep, mask, n_states, n_actions)
    f = pytensor.function([th], ll.sum(axis=0))
    got = f(theta)
    rel = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    worst = int(np.argmax(rel))
    print(
        f"{len(ids)} subjects, {n_states} state(s), {n_actions} actions, up to {chosen.shape[0]} "
        f"choices each: PyMC's log-likelihood vs rlgrad's at rlgrad's MAP, worst relative "
        f"difference {rel[worst]:.2e} (subject {ids[worst]}: {got[worst]!r} vs {expected[worst]!r})"
    )
    if not rel.max() < 1e-9:
        bad = [ids[i] for i in np.flatnonzero(rel >= 1e-9)]
        sys.exit(f"FAIL: the likelihoods differ for {len(bad)} subjects: {bad[:10]}")
    print("OK: the same likelihood on both sides")


if __name__ == "__main__":
    main()
