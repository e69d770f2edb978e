#!/usr/bin/env python3
"""The benchmark's data: 100 simulated subjects on a reversing 2-armed bandit.

Model (the one every route fits): Rescorla-Wagner + softmax, theta = (logit alpha, log beta),
Q starts at 0 for both arms, P(a_t) = softmax(beta * Q)[a_t], Q[a_t] += alpha (r_t - Q[a_t]).

Subjects: alpha ~ U(0.1, 0.6), beta ~ U(1, 8); 200 trials; reward probabilities 0.8 / 0.2
(arm 0 / arm 1), reversing every 50 trials. Seeded numpy (default seed 2026).

    python data.py [--subjects 100] [--trials 200] [--seed 2026] [--csv out.csv]

Columns: subject, session (1), trial (1..T), state (0), action (0/1), reward (0/1).
"""

import argparse

import numpy as np
import pandas as pd


def simulate(n_subjects=100, n_trials=200, seed=2026, reversal_every=50, p_good=0.8):
    """Returns (DataFrame, true parameters as an (n_subjects, 2) array of (alpha, beta))."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.1, 0.6, n_subjects)
    beta = rng.uniform(1.0, 8.0, n_subjects)
    subj, trial, action, reward = [], [], [], []
    for s in range(n_subjects):
        q = np.zeros(2)
        for t in range(n_trials):
            good = (t // reversal_every) % 2  # 0: arm 0 is the good arm, 1: arm 1 is
            p_reward = np.array([p_good, 1.0 - p_good]) if good == 0 else np.array([1.0 - p_good, p_good])
            z = beta[s] * q
            z -= z.max()
            p = np.exp(z)
            p /= p.sum()
            a = int(rng.random() < p[1])
            r = float(rng.random() < p_reward[a])
            q[a] += alpha[s] * (r - q[a])
            subj.append(f"s{s + 1:03d}")
            trial.append(t + 1)
            action.append(a)
            reward.append(r)
    df = pd.DataFrame(
        {
            "subject": subj,
            "session": 1,
            "trial": trial,
            "state": 0,
            "action": np.asarray(action, dtype=np.int64),
            "reward": np.asarray(reward, dtype=np.float64),
        }
    )
    return df, np.column_stack([alpha, beta])


def per_subject_arrays(df):
    """[(subject id, actions int64[T], rewards float64[T])] in order of first appearance."""
    out = []
    for sid, g in df.groupby("subject", sort=False):
        g = g.sort_values(["session", "trial"])
        out.append((sid, np.ascontiguousarray(g["action"].to_numpy(np.int64)),
                    np.ascontiguousarray(g["reward"].to_numpy(np.float64))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=100)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--csv", help="write the data to this CSV file")
    args = ap.parse_args()
    df, truth = simulate(args.subjects, args.trials, args.seed)
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"wrote {len(df)} rows ({args.subjects} subjects x {args.trials} trials) to {args.csv}")
    else:
        print(df.head())
    print(f"mean choice of the better arm: "
          f"{np.mean(df['action'].to_numpy() == ((df['trial'].to_numpy() - 1) // 50) % 2):.3f}")


if __name__ == "__main__":
    main()
