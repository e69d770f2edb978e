"""The GIL is released during fits (Python threads run alongside), thread counts do not
change results, and EM runs over shards of subjects on a Dask cluster of worker processes,
matching the in-process EM to rounding."""

import threading
import time

import numpy as np
import pandas as pd
import pytest

import rlgrad


def test_the_gil_is_released_during_a_fit(cohort):
    data = rlgrad.Dataset.from_frame(cohort)
    model = rlgrad.Model("rw_dual", "softmax_persev", n_actions=2)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    start = time.perf_counter()
    rlgrad.fit_em(model, data, threads=1, max_iterations=5)
    end = time.perf_counter()
    done.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # With the GIL held, the ticker could not run at all during the fit.
    assert end - start > 0.05
    assert len(during) >= 10, (len(during), end - start)


def test_em_over_a_dask_cluster_matches_fit_em(cohort):
    distributed = pytest.importorskip("dask.distributed")
    data = rlgrad.Dataset.from_frame(cohort)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    whole = rlgrad.fit_em(model, data, seed=3, threads=1)

    started = time.perf_counter()
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        # The recipe (python/README.md): scatter the shards once, then one task per shard
        # and iteration; merge the E-steps; update the run.
        shards = client.scatter(data.shards(3))
        run = rlgrad.EmRun(model, seed=3)
        fits = None
        while (task := run.next_task()) is not None:
            futures = [
                client.submit(rlgrad.e_step, model, shard, task, threads=1, pure=False)
                for shard in shards
            ]
            results = client.gather(futures)
            run.update(rlgrad.EStep.merge_all([stats for stats, _ in results]))
            fits = pd.concat([f for _, f in results])
        pop = rlgrad.em_result(run, fits)
    elapsed = time.perf_counter() - started

    assert elapsed < 60, f"the Dask EM took {elapsed:.1f} s (the bar: under a minute)"
    assert pop.svg.startswith("<svg")
    assert pop.converged == whole.converged
    assert len(pop.trace) == len(whole.trace)
    assert np.allclose(pop.mu, whole.mu, rtol=1e-10, atol=1e-12)
    assert np.allclose(pop.cov, whole.cov, rtol=1e-9, atol=1e-12)
    assert np.allclose(pop.trace["log_posterior"], whole.trace["log_posterior"], rtol=1e-12)
    assert list(pop.subjects["subject"]) == list(whole.subjects["subject"])
    assert np.allclose(pop.subjects["theta_alpha"], whole.subjects["theta_alpha"], rtol=1e-8, atol=1e-10)


def test_sharded_e_steps_merge_and_a_subject_in_two_shards_is_refused(cohort):
    data = rlgrad.Dataset.from_frame(cohort)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    task = rlgrad.EmRun(model, seed=1).next_task()
    whole, _ = rlgrad.e_step(model, data, task)
    parts = [rlgrad.e_step(model, s, task)[0] for s in data.shards(4)]
    merged = rlgrad.EStep.merge_all(parts)
    assert merged.n == whole.n == len(data)
    assert np.isclose(merged.log_posterior, whole.log_posterior, rtol=1e-13)
    assert {k: v.tolist() for k, v in merged.thetas.items()} == {
        k: v.tolist() for k, v in whole.thetas.items()
    }
    with pytest.raises(ValueError, match="s01"):
        parts[0].merge(parts[0])
    # A stale E-step (of the first task) is refused by the run that moved on.
    run = rlgrad.EmRun(model, seed=1)
    first = run.next_task()
    stats, _ = rlgrad.e_step(model, data, first)
    run.update(stats)
    run.next_task()
    with pytest.raises(ValueError, match="not the outstanding task"):
        run.update(stats)


def test_compare_tables_concatenate(cohort):
    data = rlgrad.Dataset.from_frame(cohort).subset(["s01", "s02", "s03"])
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    a = rlgrad.compare({"rw": model}, data, max_iterations=3, ibic_samples=50)
    b = rlgrad.compare({"rw": model}, data, max_iterations=3, ibic_samples=50, seed=1)
    assert len(pd.concat([a, b])) == 2
