#!/usr/bin/env python3
"""Do two samplers' draws describe the same posterior? Means and sds within Monte Carlo error.

    compare.py A_draws.csv B_draws.csv [--names A B] [--timing A_time.json B_time.json]

Both files are in the shared draws format: header `chain,draw,<quantity>...`, one row per
post-warm-up draw (chain and draw 0-based, every chain the same length). For every quantity
present in both files:

  mean:  |mean_A - mean_B| <= K * sqrt(mcse_A^2 + mcse_B^2),   mcse = az.mcse(method="mean")
  sd:    |sd_A - sd_B|     <= K * sqrt(mcse_sd_A^2 + mcse_sd_B^2), mcse_sd = az.mcse(method="sd")

with K = 4 (--k). It prints one row per quantity (both means, both sds, the two z-scores),
then a summary: how many checks pass, the worst ones, and how tight the test is (the median
tolerance of the mean as a fraction of the posterior sd). With ~400 checks at 4 sigma no failure
is expected when both samplers are right; the run fails (exit 1) if more than --max-fail-share
(default 1%) of the checks fail, or if the files share no quantity. Given both timing JSONs
(`wall_seconds`: a number, or an object with `total` and, if known, `sampling`; optionally
`cpu_seconds`: a number, or an object whose numbers add up), it prints the wall-time ratio B / A
(and the CPU-time ratio when both give it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import pandas as pd


def read_draws(path: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """Quantity name -> (chain, draw) array, in file order."""
    df = pd.read_csv(path)
    for need in ("chain", "draw"):
        if need not in df.columns:
            sys.exit(f"{path}: no column `{need}`")
    chains = sorted(df["chain"].unique())
    if chains != list(range(len(chains))):
        sys.exit(f"{path}: chains are not 0..{len(chains) - 1}: {chains}")
    df = df.sort_values(["chain", "draw"], kind="stable")
    lengths = df.groupby("chain").size()
    if lengths.nunique() != 1:
        sys.exit(f"{path}: chains of different lengths: {dict(lengths)}")
    n_chains, n_draws = len(chains), int(lengths.iloc[0])
    for c, g in df.groupby("chain"):
        if list(g["draw"]) != list(range(n_draws)):
            sys.exit(f"{path}: chain {c}: draws are not 0..{n_draws - 1} in order")
    names = [c for c in df.columns if c not in ("chain", "draw")]
    out = {}
    for name in names:
        values = df[name].to_numpy(dtype=float).reshape(n_chains, n_draws)
        if not np.all(np.isfinite(values)):
            sys.exit(f"{path}: column `{name}` has a non-finite draw")
        out[name] = values
    return names, out


def summarise(draws: dict[str, np.ndarray], names: list[str]) -> dict[str, dict[str, float]]:
    """Per quantity: mean, sd, ArviZ's MCSE of the mean and of the sd, bulk ESS."""
    import arviz as az

    keys = {n: f"q{i}" for i, n in enumerate(names)}  # plain variable names for ArviZ
    ds = az.convert_to_dataset({keys[n]: draws[n] for n in names})
    mcse_mean = az.mcse(ds, method="mean")
    mcse_sd = az.mcse(ds, method="sd")
    ess = az.ess(ds, method="bulk")
    out = {}
    for n in names:
        x, k = draws[n], keys[n]
        out[n] = {
            "mean": float(x.mean()),
            "sd": float(x.std(ddof=1)),
            "mcse_mean": float(mcse_mean[k].values),
            "mcse_sd": float(mcse_sd[k].values),
            "ess_bulk": float(ess[k].values),
        }
    return out


def wall(path: str) -> tuple[float, float | None]:
    with open(path) as f:
        j = json.load(f)
    # `rlgrad sample --timing-out` writes the sampling's wall time as `seconds`.
    w = j.get("wall_seconds", j.get("seconds"))
    if isinstance(w, (int, float)):
        return float(w), None
    if isinstance(w, dict) and "total" in w:
        s = w.get("sampling")
        return float(w["total"]), (float(s) if s is not None else None)
    sys.exit(f"{path}: no `wall_seconds` (a number, or an object with `total`)")


def cpu(path: str) -> float | None:
    """`cpu_seconds`: a number, or an object whose numeric entries add up (None if absent)."""
    with open(path) as f:
        c = json.load(f).get("cpu_seconds")
    if isinstance(c, (int, float)):
        return float(c)
    if isinstance(c, dict):
        parts = [v for v in c.values() if isinstance(v, (int, float))]
        return float(sum(parts)) if parts else None
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="draws CSV of the first sampler (e.g. rlgrad)")
    p.add_argument("b", help="draws CSV of the second sampler (e.g. PyMC)")
    p.add_argument("--names", nargs=2, default=None, metavar=("A", "B"))
    p.add_argument("--timing", nargs=2, default=None, metavar=("A_JSON", "B_JSON"))
    p.add_argument("--k", type=float, default=4.0, help="tolerance in combined MCSEs (default 4)")
    p.add_argument("--max-fail-share", type=float, default=0.01)
    p.add_argument("--worst", type=int, default=5, help="how many of the worst checks to list")
    p.add_argument("--table-out", default=None, help="also write the table as CSV")
    args = p.parse_args()
    name_a, name_b = args.names or ("A", "B")

    names_a, draws_a = read_draws(args.a)
    names_b, draws_b = read_draws(args.b)
    shared = [n for n in names_a if n in draws_b]
    only_a = [n for n in names_a if n not in draws_b]
    only_b = [n for n in names_b if n not in draws_a]
    if not shared:
        sys.exit(f"no shared quantity between {args.a} and {args.b}")
    ca, da = next(iter(draws_a.values())).shape
    cb, db = next(iter(draws_b.values())).shape
    print(f"{name_a}: {args.a} ({ca} chains x {da} draws); {name_b}: {args.b} ({cb} chains x {db} draws)")
    if only_a or only_b:
        print(f"not compared: only in {name_a}: {only_a or 'none'}; only in {name_b}: {only_b or 'none'}")

    sum_a, sum_b = summarise(draws_a, shared), summarise(draws_b, shared)
    rows = []
    for n in shared:
        sa, sb = sum_a[n], sum_b[n]
        se_mean = math.hypot(sa["mcse_mean"], sb["mcse_mean"])
        se_sd = math.hypot(sa["mcse_sd"], sb["mcse_sd"])
        rows.append(
            {
                "quantity": n,
                f"mean_{name_a}": sa["mean"],
                f"mean_{name_b}": sb["mean"],
                f"sd_{name_a}": sa["sd"],
                f"sd_{name_b}": sb["sd"],
                "z_mean": (sa["mean"] - sb["mean"]) / se_mean,
                "z_sd": (sa["sd"] - sb["sd"]) / se_sd,
                f"mcse_mean_{name_a}": sa["mcse_mean"],
                f"mcse_mean_{name_b}": sb["mcse_mean"],
                f"mcse_sd_{name_a}": sa["mcse_sd"],
                f"mcse_sd_{name_b}": sb["mcse_sd"],
                f"ess_bulk_{name_a}": sa["ess_bulk"],
                f"ess_bulk_{name_b}": sb["ess_bulk"],
                "tol_mean_over_sd": args.k * se_mean / max(sa["sd"], sb["sd"]),
            }
        )
    table = pd.DataFrame(rows)
    if args.table_out:
        table.to_csv(args.table_out, index=False)

    w = max(len(n) for n in shared)
    head = (
        f"{'quantity':<{w}}  {'mean ' + name_a:>12} {'mean ' + name_b:>12} "
        f"{'sd ' + name_a:>11} {'sd ' + name_b:>11} {'z mean':>7} {'z sd':>7}"
    )
    print(head)
    for r in rows:
        flag = " *" if max(abs(r["z_mean"]), abs(r["z_sd"])) > args.k else ""
        print(
            f"{r['quantity']:<{w}}  {r[f'mean_{name_a}']:12.5g} {r[f'mean_{name_b}']:12.5g} "
            f"{r[f'sd_{name_a}']:11.4g} {r[f'sd_{name_b}']:11.4g} {r['z_mean']:7.2f} {r['z_sd']:7.2f}{flag}"
        )

    checks = [(r["quantity"], "mean", r["z_mean"]) for r in rows] + [
        (r["quantity"], "sd", r["z_sd"]) for r in rows
    ]
    n_checks = len(checks)
    failed = [c for c in checks if not abs(c[2]) <= args.k]
    allowed = math.floor(args.max_fail_share * n_checks)
    worst = sorted(checks, key=lambda c: -abs(c[2]))[: args.worst]
    z_all = np.array([c[2] for c in checks])
    print()
    print(
        f"{len(shared)} quantities, {n_checks} checks (mean and sd): {n_checks - len(failed)} within "
        f"{args.k:g} combined MCSE, {len(failed)} outside (allowed: {allowed}, "
        f"{100 * args.max_fail_share:g}%)"
    )
    print(
        "worst: " + "; ".join(f"{q} {what} z = {z:+.2f}" for q, what, z in worst)
    )
    print(
        f"|z| over all checks: mean {np.mean(np.abs(z_all)):.2f}, rms {np.sqrt(np.mean(z_all**2)):.2f} "
        f"(about 0.80 and 1.00 if both samplers are right and the MCSEs honest); share |z| > 2: "
        f"{np.mean(np.abs(z_all) > 2):.3f} (about 0.046)"
    )
    print(
        f"tightness: the tolerance on a mean is a median {np.median(table['tol_mean_over_sd']):.3f} "
        f"(max {table['tol_mean_over_sd'].max():.3f}) posterior sds"
    )
    for label, key in ((name_a, f"ess_bulk_{name_a}"), (name_b, f"ess_bulk_{name_b}")):
        print(f"bulk ESS {label}: min {table[key].min():.0f}, median {table[key].median():.0f}")

    if args.timing:
        ta, sa_ = wall(args.timing[0])
        tb, sb_ = wall(args.timing[1])
        line = f"wall time: {name_a} {ta:.2f} s, {name_b} {tb:.2f} s, ratio {name_b}/{name_a} = {tb / ta:.1f}"
        if sa_ is not None and sb_ is not None:
            line += f" (sampling only: {sa_:.2f} s vs {sb_:.2f} s, ratio {sb_ / sa_:.1f})"
        print(line)
        ca_, cb_ = cpu(args.timing[0]), cpu(args.timing[1])
        if ca_ is not None and cb_ is not None:
            print(f"CPU time: {name_a} {ca_:.2f} s, {name_b} {cb_:.2f} s, ratio {name_b}/{name_a} = {cb_ / ca_:.1f}")
        elif ca_ is not None or cb_ is not None:
            print(f"CPU time: {name_a} {ca_ if ca_ is not None else 'not given'}, {name_b} {cb_ if cb_ is not None else 'not given'} (s)")

    if len(failed) > allowed:
        print(f"FAIL: {len(failed)} of {n_checks} checks outside {args.k:g} combined MCSE (allowed {allowed})")
        sys.exit(1)
    print("OK: the two samplers agree within Monte Carlo error")


if __name__ == "__main__":
    main()
