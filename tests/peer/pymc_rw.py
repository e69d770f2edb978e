#!/usr/bin/env python3
"""PyMC peer of rlgrad's hierarchical NUTS fit: RW + softmax, non-centred, LKJ(2) on the correlation.

Reads a long-format CSV in rlgrad's format (subject, session, trial, state, action, reward;
`session` and `state` optional; an empty or NA action is a missed trial), fits

    theta_i = mu + diag(tau) L_Omega z_i,   z_i ~ N(0, I_2)
    mu_k ~ Normal(0, 2),  tau_k ~ HalfNormal(1),  Omega ~ LKJ(eta = 2)
    alpha_i = logistic(theta_i[0]),  beta_i = exp(theta_i[1])
    Q = 0 for every (state, action) at each session start;  Q[s, a] += alpha (r - Q[s, a]);
    p(a | s) = softmax(beta Q[s, .]);  missed trials contribute nothing and change nothing,

with PyMC's default NUTS (`pm.sample`), and writes

    --draws-out   CSV: chain,draw,mu[alpha],mu[beta],tau[alpha],tau[beta],"corr[alpha,beta]",
                  then alpha[<id>],beta[<id>] per subject in the data's order
                  (chain and draw 0-based, post-warm-up draws only)
    --timing-out  JSON: wall times (model build, compile and initialisation, sampling, total),
                  CPU time of the sampling workers, versions, settings, divergences, max R-hat,
                  min bulk and tail ESS.

The likelihood is one `pytensor.scan` over trial positions with every subject in each step
(subjects padded to the longest and masked). The scan carries only the value recursion (it
depends on alpha alone), as one elementwise step on one-hot arrays that PyTensor fuses with its
gradient; the choice probabilities of all trials are computed from the values afterwards.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
import time

T_START = time.perf_counter()

NA_STRINGS = {"", "na", "nan"}


def read_rlgrad_csv(path: str):
    """Parse the CSV as rlgrad's reader does.

    Subjects and sessions keep the order in which they first appear; rows of a
    (subject, session) pair keep their file order (rlgrad requires strictly increasing trial
    numbers within it, checked here too). Returns (subject ids, per-subject list of sessions,
    each a list of (state, action or None, reward)), n_states, n_actions.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        col = {name: i for i, name in enumerate(header)}
        for need in ("subject", "trial", "action", "reward"):
            if need not in col:
                sys.exit(f"{path}: no column `{need}` (header: {header})")
        subjects: dict[str, dict[str, list]] = {}
        last_trial: dict[tuple[str, str], int] = {}
        n_states, n_actions = 1, 0
        for line, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            subject = row[col["subject"]].strip()
            session = row[col["session"]].strip() if "session" in col else "0"
            trial = int(row[col["trial"]])
            key = (subject, session)
            if key in last_trial and trial <= last_trial[key]:
                sys.exit(f"{path} line {line}: trial {trial} does not increase")
            last_trial[key] = trial
            state_text = row[col["state"]].strip() if "state" in col else ""
            state = int(state_text) if state_text else 0
            action_text = row[col["action"]].strip()
            if action_text.lower() in NA_STRINGS:
                action = None
            else:
                action = int(action_text)
                n_actions = max(n_actions, action + 1)
            reward_text = row[col["reward"]].strip()
            reward = 0.0 if reward_text.lower() in NA_STRINGS else float(reward_text)
            n_states = max(n_states, state + 1)
            subjects.setdefault(subject, {}).setdefault(session, []).append((state, action, reward))
    ids = list(subjects)
    return ids, [list(subjects[s].values()) for s in ids], n_states, max(n_actions, 2)


def pack(sessions_per_subject, n_states, n_actions):
    """Arrays of shape (T, N, ...): trial position first (the scan axis), subjects second.

    Missed trials are dropped (they change nothing); `keep` is 0 at the first trial of each
    session (Q is reset to 0 before it), `mask` is 0 on padding.
    """
    import numpy as np

    n = len(sessions_per_subject)
    rows = []
    for sessions in sessions_per_subject:
        seq = []
        for session in sessions:
            first = True
            for state, action, reward in session:
                if action is None:
                    continue
                seq.append((state, action, reward, 0.0 if first else 1.0))
                first = False
        rows.append(seq)
    t_max = max(len(r) for r in rows)
    sa = n_states * n_actions
    chosen = np.zeros((t_max, n, sa))  # one-hot of (state, action); zero on padding
    in_state = np.zeros((t_max, n, n_states, 1))  # one-hot of the state (unused when 1 state)
    reward = np.zeros((t_max, n))
    keep = np.ones((t_max, n))
    mask = np.zeros((t_max, n))
    for i, seq in enumerate(rows):
        for t, (s, a, r, k) in enumerate(seq):
            chosen[t, i, s * n_actions + a] = 1.0
            in_state[t, i, s, 0] = 1.0
            reward[t, i] = r
            keep[t, i] = k
            mask[t, i] = 1.0
    return chosen, in_state, reward, keep, mask, sum(len(r) for r in rows)


def loglik_graph(alpha, beta, chosen, in_state, reward, keep, mask, n_states, n_actions):
    """The log-likelihood per (trial position, subject), a (T, N) tensor, for alpha, beta (N,).

    Only the value recursion, which depends on alpha alone, is sequential: the scan's step is
    one elementwise expression, q' = keep*q + alpha*(c*r - c*keep*q) with c the one-hot of the
    chosen (state, action), so PyTensor fuses it (and its gradient) into one loop per step.
    The choice probabilities of all trials then come from the values in a few whole-array
    operations outside the scan.
    """
    import numpy as np
    import pytensor
    import pytensor.tensor as pt

    t_max, n, sa = chosen.shape
    # The scan runs on (S*A, N) slices: subjects last, so every per-step operand is contiguous.
    c_san = np.ascontiguousarray(chosen.transpose(0, 2, 1))  # (T, S*A, N)
    cr_san = c_san * reward[:, None, :]  # c * r, data
    keep_san = np.ascontiguousarray(np.broadcast_to(keep[:, None, :], c_san.shape))
    resets = not np.all(keep[1:] == 1.0)  # a later session start somewhere

    def step(c_t, cr_t, keep_t, q, alpha):
        if resets:
            q = q * keep_t
        return q + alpha[None, :] * (cr_t - c_t * q)

    q0 = pt.zeros((sa, n))
    q_after = pytensor.scan(
        step,
        sequences=[
            pt.as_tensor_variable(c_san),
            pt.as_tensor_variable(cr_san),
            pt.as_tensor_variable(keep_san),
        ],
        outputs_info=[q0],
        non_sequences=[alpha],
        strict=True,
        return_updates=False,
    )
    # The values before each trial: after the previous one, reset where a session starts.
    q_san = pt.concatenate([q0[None], q_after[:-1]], axis=0)  # (T, S*A, N)
    if resets:
        q_san = q_san * keep_san
    if n_states == 1 and n_actions == 2:
        # One state, two actions: log p(a) = log sigmoid(beta (Q_a - Q_other)), sign = +-1 data.
        sign = chosen[:, :, 1] - chosen[:, :, 0]  # (T, N), 0 on padding
        x = beta[None, :] * sign * (q_san[:, 1, :] - q_san[:, 0, :])
        return mask * -pt.softplus(-x)
    q_before = q_san.dimshuffle(0, 2, 1)  # (T, N, S*A)
    q_chosen = pt.sum(q_before * chosen, axis=2)  # (T, N)
    if n_states == 1:
        q_state = q_before
    else:
        q_state = pt.sum(q_before.reshape((t_max, n, n_states, n_actions)) * in_state, axis=2)
    z = beta[None, :, None] * q_state  # (T, N, A)
    m = pt.max(z, axis=2)
    lse = m + pt.log(pt.sum(pt.exp(z - m[:, :, None]), axis=2))
    return mask * (beta[None, :] * q_chosen - lse)


def build_model(chosen, in_state, reward, keep, mask, n_states, n_actions):
    import pymc as pm
    import pytensor.tensor as pt

    n = chosen.shape[1]
    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 2.0, shape=2)
        chol, _, _ = pm.LKJCholeskyCov(
            "chol", n=2, eta=2.0, sd_dist=pm.HalfNormal.dist(1.0), compute_corr=True
        )
        z = pm.Normal("z", 0.0, 1.0, shape=(n, 2))
        theta = mu + z @ chol.T
        alpha = pm.math.sigmoid(theta[:, 0])
        beta = pt.exp(theta[:, 1])
        loglik = loglik_graph(alpha, beta, chosen, in_state, reward, keep, mask, n_states, n_actions)
        pm.Potential("loglik", pt.sum(loglik))
    return model


def draws_table(idata, subject_ids):
    """The shared draws format, from the posterior: (header, rows)."""
    import numpy as np

    post = idata.posterior
    mu = post["mu"].values  # (C, D, 2)
    packed = post["chol"].values  # (C, D, 3): L00, L10, L11
    z = post["z"].values  # (C, D, N, 2)
    n_chains, n_draws = mu.shape[:2]
    l00, l10, l11 = packed[..., 0], packed[..., 1], packed[..., 2]
    tau0 = l00
    tau1 = np.sqrt(l10**2 + l11**2)
    corr = l10 / tau1
    theta_a = mu[..., 0, None] + l00[..., None] * z[..., 0]
    theta_b = mu[..., 1, None] + l10[..., None] * z[..., 0] + l11[..., None] * z[..., 1]
    alpha = 1.0 / (1.0 + np.exp(-theta_a))
    beta = np.exp(theta_b)
    # Cross-check against PyMC's own deterministics.
    assert np.allclose(post["chol_stds"].values[..., 0], tau0)
    assert np.allclose(post["chol_stds"].values[..., 1], tau1)
    assert np.allclose(post["chol_corr"].values[..., 0, 1], corr)
    header = ["chain", "draw", "mu[alpha]", "mu[beta]", "tau[alpha]", "tau[beta]", "corr[alpha,beta]"]
    for s in subject_ids:
        header += [f"alpha[{s}]", f"beta[{s}]"]
    n = len(subject_ids)
    cols = [mu[..., 0], mu[..., 1], tau0, tau1, corr]
    per_subject = np.empty((n_chains, n_draws, 2 * n))
    per_subject[..., 0::2] = alpha
    per_subject[..., 1::2] = beta
    values = np.concatenate([np.stack(cols, axis=-1), per_subject], axis=-1)
    return header, values


def write_draws(path, header, values):
    n_chains, n_draws, _ = values.shape
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for c in range(n_chains):
            for d in range(n_draws):
                w.writerow([c, d] + [repr(float(x)) for x in values[c, d]])
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", help="choices in rlgrad's long CSV format")
    p.add_argument("--draws-out", required=True)
    p.add_argument("--timing-out", required=True)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--mode",
        default=None,
        help="PyTensor compile mode (default: PyTensor's default, the C backend); e.g. NUMBA",
    )
    p.add_argument(
        "--sampler",
        default="pymc",
        choices=["pymc", "nutpie"],
        help="pm.sample's nuts_sampler (the peer is `pymc`; `nutpie` if installed, labelled)",
    )
    args = p.parse_args()

    t_import = time.perf_counter()
    import numpy as np
    import arviz as az
    import pymc as pm
    import pytensor

    t_imported = time.perf_counter()

    ids, sessions, n_states, n_actions = read_rlgrad_csv(args.csv)
    chosen, in_state, reward, keep, mask, n_choices = pack(sessions, n_states, n_actions)
    t_read = time.perf_counter()

    model = build_model(chosen, in_state, reward, keep, mask, n_states, n_actions)
    t_built = time.perf_counter()

    kwargs = {}
    if args.mode is not None:
        kwargs["compile_kwargs"] = {"mode": args.mode}
    t0 = time.perf_counter()
    with model:
        idata = pm.sample(
            draws=args.draws,
            tune=args.warmup,
            chains=args.chains,
            cores=args.cores,
            random_seed=args.seed,
            nuts_sampler=args.sampler,
            compute_convergence_checks=False,
            progressbar=False,
            **kwargs,
        )
    t_sampled = time.perf_counter()
    cpu_self = resource.getrusage(resource.RUSAGE_SELF)
    cpu_children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sampling workers, joined
    sample_call = t_sampled - t0
    sampling = idata.sample_stats.attrs.get("sampling_time")  # absent with nutpie
    sampling = float(sampling) if sampling is not None else None

    header, values = draws_table(idata, ids)
    write_draws(args.draws_out, header, values)

    # Diagnostics on the reported quantities (the draws file) and on the sampled variables.
    quantities = {name: values[..., j] for j, name in enumerate(header[2:])}
    qd = az.convert_to_dataset({k.replace("[", "_").replace("]", "").replace(",", "_"): v for k, v in quantities.items()})
    rhat_q = az.rhat(qd)
    ess_q = az.ess(qd, method="bulk")
    ess_tail_q = az.ess(qd, method="tail")
    max_rhat_q = max(float(rhat_q[v].values) for v in rhat_q.data_vars)
    min_ess_q = min(float(ess_q[v].values) for v in ess_q.data_vars)
    min_ess_tail_q = min(float(ess_tail_q[v].values) for v in ess_tail_q.data_vars)
    free = ["mu", "chol", "z"]
    rhat_free = az.rhat(idata, var_names=free)
    ess_free = az.ess(idata, var_names=free, method="bulk")
    max_rhat_free = max(float(rhat_free[v].max()) for v in free)
    min_ess_free = min(float(ess_free[v].min()) for v in free)
    stats = idata.sample_stats
    divergences = int(stats["diverging"].values.sum())
    depth = stats["tree_depth"].values if "tree_depth" in stats else None
    steps = stats["n_steps"].values if "n_steps" in stats else None
    t_end = time.perf_counter()

    report = {
        "tool": "pymc",
        "sampler": "pymc NUTS (pm.sample default)" if args.sampler == "pymc" else f"{args.sampler} via pm.sample(nuts_sampler=...)",
        "pytensor_mode": args.mode or str(pytensor.config.mode),
        "data": {
            "csv": os.path.abspath(args.csv),
            "subjects": len(ids),
            "choices": int(n_choices),
            "max_choices_per_subject": int(chosen.shape[0]),
            "states": n_states,
            "actions": n_actions,
        },
        "settings": {
            "chains": args.chains,
            "draws": args.draws,
            "warmup": args.warmup,
            "cores": args.cores,
            "seed": args.seed,
            "init": "jitter+adapt_diag (default)",
            "target_accept": 0.8,
        },
        "wall_seconds": {
            "import": t_imported - t_import,
            "read_data": t_read - t_imported,
            "build_model": t_built - t_read,
            "compile_and_init": sample_call - sampling if sampling is not None else None,
            "sampling": sampling,
            "pm_sample_call": sample_call,
            "total": t_sampled - t_read,
            "total_with_import": t_sampled - T_START,
            "diagnostics_and_output": t_end - t_sampled,
        },
        "cpu_seconds": {
            "main_process": cpu_self.ru_utime + cpu_self.ru_stime,
            "worker_processes": cpu_children.ru_utime + cpu_children.ru_stime,
            "note": "user + system time up to the end of pm.sample; the workers run tuning and draws",
        },
        "load_average_1_5_15": list(os.getloadavg()),
        "wall_seconds_note": (
            "total = build_model + pm.sample call (compile, jitter init, tuning and draws, "
            "packaging); sampling = pm.sample's own sampling_time (tuning + draws in the worker "
            "processes); imports, CSV reading, diagnostics and output excluded from total"
        ),
        "diagnostics": {
            "divergences": divergences,
            "max_rhat": max_rhat_q,
            "min_ess_bulk": min_ess_q,
            "min_ess_tail": min_ess_tail_q,
            "min_ess_bulk_per_second_sampling": min_ess_q / sampling if sampling else None,
            "max_rhat_free_parameters": max_rhat_free,
            "min_ess_bulk_free_parameters": min_ess_free,
            "max_tree_depth": int(depth.max()) if depth is not None else None,
            "mean_leapfrog_steps": float(steps.mean()) if steps is not None else None,
            "note": "max_rhat / min_ess_* over the quantities of the draws file (rank-normalised split R-hat, ArviZ)",
        },
        "versions": {
            "python": platform.python_version(),
            "pymc": pm.__version__,
            "pytensor": pytensor.__version__,
            "arviz": az.__version__,
            "numpy": np.__version__,
            **({"nutpie": __import__("nutpie").__version__} if args.sampler == "nutpie" else {}),
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    tmp = args.timing_out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.timing_out)
    w = report["wall_seconds"]
    d = report["diagnostics"]
    split = (
        f"compile+init {w['compile_and_init']:.1f} s, sampling {w['sampling']:.1f} s, "
        if w["sampling"] is not None
        else "compile+init and sampling not told apart, "
    )
    c = report["cpu_seconds"]
    print(
        f"{args.sampler}: {len(ids)} subjects, {n_choices} choices; build {w['build_model']:.1f} s, "
        f"{split}total {w['total']:.1f} s (CPU: workers {c['worker_processes']:.0f} s, "
        f"main {c['main_process']:.0f} s); divergences {d['divergences']}, "
        f"max R-hat {d['max_rhat']:.4f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
        f"min tail ESS {d['min_ess_tail']:.0f}"
    )


if __name__ == "__main__":
    main()
