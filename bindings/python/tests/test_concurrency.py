"""Two engines, at 1 and 2 threads, trained at once on two threads of one process (through the C ABI, ctypes
releases the GIL) give exactly the results of training them one after the other."""
import threading

import numpy as np

from conftest import fc_config


def configs():
    return [fc_config(policy="rigl", density=0.2, seed=1, threads=1, data__train_limit=3000, data__test_limit=1000),
            fc_config(policy="dnw", density=0.1, seed=2, threads=2, data__train_limit=3000, data__test_limit=1000)]


def train(sw, cfg):
    with sw.Engine(cfg) as e:
        r = e.fit(progress=False)[0]
        return r, {n: e.get(n) for n in e.parameter_names()}, {d["name"]: e.mask(d["name"]) for d in e.density()}


def test_two_engines_on_two_threads_match_sequential(sw):
    sequential = [train(sw, c) for c in configs()]
    results = [None, None]
    errors = []

    def worker(i, cfg):
        try:
            results[i] = train(sw, cfg)
        except BaseException as e:  # surface thread failures in the test
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(configs())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (r1, w1, m1), (r2, w2, m2) in zip(sequential, results):
        assert r1 == r2
        for n in w1:
            assert np.array_equal(w1[n], w2[n]), n
        for n in m1:
            assert np.array_equal(m1[n], m2[n]), n
