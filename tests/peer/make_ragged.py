#!/usr/bin/env python3
"""Turn a simulated cohort into awkward data for the likelihood check (not a simulation).

    make_ragged.py cohort.csv ragged.csv

Per subject: drops a different number of final trials (ragged counts), splits the rows into two
sessions for every other subject (Q restarts), marks about one trial in eleven as missed (empty
action and reward, or `NA`), gives every trial one of two states and sometimes a third action,
and interleaves the rows of all subjects (each (subject, session) keeps its order). The choices
no longer come from any model; only the likelihood check uses this file.
"""

import csv
import random
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1:]
    rng = random.Random(12)
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    by_subject: dict[str, list] = {}
    for r in rows:
        by_subject.setdefault(r["subject"], []).append(r)
    queues = []
    for i, (subject, trials) in enumerate(by_subject.items()):
        trials = trials[: len(trials) - (i * 37) % 150]
        out = []
        for t, r in enumerate(trials):
            session = "b" if i % 2 == 1 and t >= len(trials) // 2 else "a"
            action, reward = r["action"], r["reward"]
            u = rng.random()
            if u < 0.05:
                action, reward = "", ""
            elif u < 0.09:
                action, reward = "NA", "NA"
            elif u < 0.12:
                action = "2"
            out.append([subject, session, t + 1, rng.randrange(2), action, reward])
        queues.append(out)
    merged = []
    while any(queues):
        q = rng.choice([q for q in queues if q])
        merged.append(q.pop(0))
    with open(dst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subject", "session", "trial", "state", "action", "reward"])
        w.writerows(merged)


if __name__ == "__main__":
    main()
