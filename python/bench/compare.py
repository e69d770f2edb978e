#!/usr/bin/env python3
"""rlgrad's Python package against the fastest Python routes, on the same data.

    python python/bench/compare.py [--repeats 7] [--pyem-json FILE | --skip-pyem-python] [--map-only]

Data: data.py's 100 subjects x 200 trials (seed 2026). Model: Rescorla-Wagner + softmax,
theta = (logit alpha, log beta), Q0 = 0.

Routes
  MAP (prior N(0, 3 I), one start per subject from theta = 0):
    numba+scipy   numba_map.py: @njit negative log posterior + exact gradient, scipy L-BFGS-B,
                  once with scipy's default tolerances, once tight (gtol 1e-6, rlgrad's)
    rlgrad        rlgrad.fit_map(model, data, prior=prior, n_starts=1, threads=1 and 2)
  EM:
    pyEM-equiv.   pyem_em.py: pyEM's EMfit algorithm and defaults, its per-trial Python
                  objective (the pyEM way); and the same with a numba objective
    rlgrad        rlgrad.fit_em(model, data, threads=1 and 2)

Timing: wall clock (perf_counter) of the whole fit of all 100 subjects, warm-up (JIT, first
call) excluded; also this process's CPU time. MAP routes are timed in interleaved rounds
(each round runs every route once), so a round's ratio compares routes under the same load;
the ratio column is peer median / rlgrad median, with the min-max of the per-round ratios.
The pure-Python pyEM-equivalent EM takes many minutes, so it runs once (or is read from a
--pyem-json written by `pyem_em.py --json`); its ratio spread is against rlgrad's min/max.
The machine's load average is recorded before and after.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

# One BLAS thread: the comparison is single-core, and with OpenBLAS's default (one thread per
# core) scipy's L-BFGS-B on 2-vectors is ~10x slower whenever the other core is busy (measured
# here: numba+scipy MAP of 100 subjects 0.09 s with 1 BLAS thread, 0.5-1.3 s with 2).
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numba_map  # noqa: E402
import pyem_em  # noqa: E402
import rlgrad_calls  # noqa: E402
from data import per_subject_arrays, simulate  # noqa: E402


def timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def stats(xs):
    xs = np.asarray(xs, dtype=float)
    return {"min": float(xs.min()), "median": float(np.median(xs)), "max": float(xs.max()), "n": len(xs)}


def fmt_t(s):
    return f"{s:.3g}" if s < 100 else f"{s:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7, help="timed rounds of the fast routes (>= 5)")
    ap.add_argument("--em-repeats", type=int, default=5, help="timed runs of rlgrad's EM")
    ap.add_argument("--pyem-json", help="read the pure-Python pyEM-equivalent EM from this file "
                    "(pyem_em.py --json) instead of running it (~15-30 min)")
    ap.add_argument("--skip-pyem-python", action="store_true", help="leave out the pure-Python EM")
    ap.add_argument("--map-only", action="store_true", help="time the MAP routes only (about a minute)")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "compare.json"))
    args = ap.parse_args()

    df, _ = simulate()
    subjects = per_subject_arrays(df)
    print(f"data: {len(subjects)} subjects x {len(df) // len(subjects)} trials; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; python {platform.python_version()}")
    up0 = uptime()
    print(f"start: {up0}", flush=True)

    import numba
    import scipy
    import rlgrad
    versions = {"numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
                "rlgrad": getattr(rlgrad, "__version__", "?")}

    # ---- correctness first (not timed) ----
    numba_map.check_value(subjects)
    g = numba_map.check_gradient(subjects)
    pyem_em.check_objectives(subjects)
    model, data, prior = rlgrad_calls.prepare(df)

    # ---- MAP: warm-up, then interleaved rounds ----
    map_routes = {
        "numba+scipy L-BFGS-B (default tol)": lambda: numba_map.fit_all(subjects, options=numba_map.DEFAULT),
        "numba+scipy L-BFGS-B (gtol 1e-6)": lambda: numba_map.fit_all(subjects, options=numba_map.TIGHT),
        "rlgrad.fit_map threads=1": lambda: rlgrad_calls.fit_map(model, data, prior, threads=1),
        "rlgrad.fit_map threads=2": lambda: rlgrad_calls.fit_map(model, data, prior, threads=2),
    }
    out_map = {}
    for name, fn in map_routes.items():  # warm-up: JIT compile / first call
        out_map[name] = fn()
    wall = {k: [] for k in map_routes}
    cpu = {k: [] for k in map_routes}
    load_map = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for name, fn in map_routes.items():
            w, c, out_map[name] = timed(fn)
            wall[name].append(w)
            cpu[name].append(c)
        load_map.append(os.getloadavg()[0])
    print(f"MAP timed ({args.repeats} rounds); load average {min(load_map):.2f}-{max(load_map):.2f}", flush=True)

    theta = {
        "numba+scipy L-BFGS-B (default tol)": out_map["numba+scipy L-BFGS-B (default tol)"][0],
        "numba+scipy L-BFGS-B (gtol 1e-6)": out_map["numba+scipy L-BFGS-B (gtol 1e-6)"][0],
        "rlgrad.fit_map threads=1": rlgrad_calls.theta_of(out_map["rlgrad.fit_map threads=1"]),
        "rlgrad.fit_map threads=2": rlgrad_calls.theta_of(out_map["rlgrad.fit_map threads=2"]),
    }
    ref_theta = theta["rlgrad.fit_map threads=1"]

    # ---- EM ----
    em_rows = {}
    diag = None
    if not args.map_only:
        rl_em = {"rlgrad.fit_em threads=1": 1, "rlgrad.fit_em threads=2": 2}
        em_out = {}
        for name, th in rl_em.items():
            rlgrad_calls.fit_em(model, data, threads=th)  # warm-up
        em_wall = {k: [] for k in rl_em}
        em_cpu = {k: [] for k in rl_em}
        for _ in range(args.em_repeats):
            for name, th in rl_em.items():
                w, c, em_out[name] = timed(lambda: rlgrad_calls.fit_em(model, data, threads=th))
                em_wall[name].append(w)
                em_cpu[name].append(c)
        for name in rl_em:
            mu, cov, iters = rlgrad_calls.em_summary(em_out[name])
            em_rows[name] = {"wall": em_wall[name], "cpu": em_cpu[name], "mu": mu.tolist(),
                             "sd": np.sqrt(np.diag(cov)).tolist(), "cov": cov.tolist(), "iterations": iters}
        # rlgrad with a diagonal covariance, pyEM's kind, for the agreement of mu/sd (not timed)
        try:
            pop_d = rlgrad_calls.fit_em(model, data, threads=1, covariance="diagonal")
            mu_d, cov_d, it_d = rlgrad_calls.em_summary(pop_d)
            diag = {"mu": mu_d.tolist(), "sd": np.sqrt(np.diag(cov_d)).tolist(), "iterations": it_d}
        except TypeError as e:
            print(f"(rlgrad.fit_em has no covariance='diagonal': {e})")
        print(f"rlgrad EM timed ({args.em_repeats} runs each); {uptime()}", flush=True)

        pyem_numba = pyem_em.run_timed(subjects, "numba", n_jobs=1, seed=0)
        em_rows["pyEM-equivalent, numba objective"] = pyem_numba
        print(f"pyEM-equivalent EM (numba objective) timed; {uptime()}", flush=True)
        if args.pyem_json:
            with open(args.pyem_json) as f:
                em_rows["pyEM-equivalent, Python objective (pyEM's way)"] = json.load(f)
            print(f"pyEM-equivalent EM (Python objective) read from {args.pyem_json}")
        elif not args.skip_pyem_python:
            print("pyEM-equivalent EM (Python objective): running once, this takes many minutes ...", flush=True)
            em_rows["pyEM-equivalent, Python objective (pyEM's way)"] = pyem_em.run_timed(
                subjects, "python", n_jobs=1, seed=0)
            keep = os.path.join(os.path.dirname(args.json), "pyem_python.json")
            with open(keep, "w") as f:  # for --pyem-json next time
                json.dump(em_rows["pyEM-equivalent, Python objective (pyEM's way)"], f, indent=1)
            print(f"  done; {uptime()}", flush=True)
        for k in list(em_rows):
            if "sigma2" in em_rows[k] and "sd" not in em_rows[k]:
                em_rows[k]["sd"] = np.sqrt(em_rows[k]["sigma2"]).tolist()

    up1 = uptime()
    print(f"end: {up1}\n")

    # ---- tables ----
    lines = []
    lines.append("| route | wall min / median / max (s) | CPU median (s) | ratio: peer median ÷ rlgrad median (spread) | agreement with rlgrad |")
    lines.append("|---|---|---|---|---|")
    r1 = "rlgrad.fit_map threads=1"
    for name in map_routes:
        s = stats(wall[name])
        c = np.median(cpu[name])
        if name.startswith("rlgrad"):
            ratio = "—"
            if name != r1:
                per = np.array(wall[r1]) / np.array(wall[name])
                ratio = f"speed-up over threads=1: {np.median(wall[r1]) / s['median']:.2f}× ({per.min():.2f}–{per.max():.2f})"
            d = np.abs(theta[name] - ref_theta).max()
            agree = "reference" if name == r1 else f"max abs dθ {d:.1e}"
        else:
            parts = []
            for rl in ["rlgrad.fit_map threads=1", "rlgrad.fit_map threads=2"]:
                per = np.array(wall[name]) / np.array(wall[rl])
                parts.append(f"{rl.split()[-1]}: **{s['median'] / np.median(wall[rl]):.1f}×** ({per.min():.1f}–{per.max():.1f})")
            ratio = "; ".join(parts)
            d = np.abs(theta[name] - ref_theta).max(axis=1)
            agree = f"max abs dθ {d.max():.1e} (median {np.median(d):.0e})"
        lines.append(f"| MAP: {name} | {fmt_t(s['min'])} / {fmt_t(s['median'])} / {fmt_t(s['max'])} | {c:.3g} | {ratio} | {agree} |")
    if em_rows:
        ref_em = em_rows["rlgrad.fit_em threads=1"]
        em1 = np.array(ref_em["wall"])
        em2 = np.array(em_rows["rlgrad.fit_em threads=2"]["wall"])
        cmp_mu = np.array(diag["mu"] if diag else ref_em["mu"])
        cmp_sd = np.array(diag["sd"] if diag else ref_em["sd"])
    for name, row in em_rows.items():
        s = stats(row["wall"])
        c = np.median(row["cpu"])
        mu, sd = np.array(row["mu"]), np.array(row["sd"])
        it = row.get("iterations")
        desc = f"μ ({mu[0]:.4f}, {mu[1]:.4f}), sd ({sd[0]:.4f}, {sd[1]:.4f}), {it} iterations"
        if name.startswith("rlgrad"):
            ratio = "—"
            if name != "rlgrad.fit_em threads=1":
                ratio = f"speed-up over threads=1: {np.median(em1) / s['median']:.2f}×"
        else:
            parts = []
            for lab, ref in [("threads=1", em1), ("threads=2", em2)]:
                parts.append(f"{lab}: **{s['median'] / np.median(ref):.0f}×** "
                             f"({s['median'] / ref.max():.0f}–{s['median'] / ref.min():.0f})")
            ratio = "; ".join(parts)
            desc += (f"; vs rlgrad{' diagonal' if diag else ''}: max abs dμ {np.abs(mu - cmp_mu).max():.1e}, "
                     f"max abs d(sd) {np.abs(sd - cmp_sd).max():.1e}")
        lines.append(f"| EM: {name} | {fmt_t(s['min'])} / {fmt_t(s['median'])} / {fmt_t(s['max'])} (n={s['n']}) | {c:.3g} | {ratio} | {desc} |")
    if diag:
        lines.append(f"| EM: rlgrad.fit_em covariance='diagonal' (agreement reference, not timed) | | | | "
                     f"μ ({diag['mu'][0]:.4f}, {diag['mu'][1]:.4f}), sd ({diag['sd'][0]:.4f}, {diag['sd'][1]:.4f}), {diag['iterations']} iterations |")
    table = "\n".join(lines)
    print(table)
    print(f"\ngradient check: worst relative error vs finite differences {g:.1e}")
    print(f"load: start `{up0}`; end `{up1}`; MAP rounds load average {min(load_map):.2f}-{max(load_map):.2f}")
    print(f"versions: {versions}")

    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"uptime_start": up0, "uptime_end": up1, "load_map_rounds": load_map,
                   "versions": versions, "repeats": args.repeats,
                   "map": {k: {"wall": wall[k], "cpu": cpu[k]} for k in map_routes},
                   "map_max_abs_dtheta_vs_rlgrad_t1": {k: float(np.abs(theta[k] - ref_theta).max()) for k in theta},
                   "em": {k: {kk: vv for kk, vv in v.items() if kk not in ("theta", "trace")} for k, v in em_rows.items()},
                   "em_rlgrad_diagonal": diag, "table_markdown": table}, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
