"""Sweeps over policies × densities × seeds (any config keys), one trial per Ray task.

    python -m sparsewire.sweep --config configs/fmnist-fc.yaml --grid grid.yaml --out results/

    from sparsewire.sweep import sweep
    rows = sweep("configs/fmnist-fc.yaml", {"policy": ["rigl", "set"], "density": [0.1, 0.3], "seed": [0, 1]},
                 out="results/")

Each trial builds an engine from the base config plus its grid values (dotted keys such as
`optimizer.lr` or `policy_options.alpha` work), trains, evaluates and reports one row. Trials
run as Ray tasks (`ray.init(num_cpus=N)` locally, or `address=` to join a cluster, see
docs/SCALING.md); each task reserves `cpus_per_trial` CPUs and the engine uses exactly that many
threads (OpenBLAS itself single-threaded), so trials never oversubscribe the machine. A trial
that fails (an exception, or its worker process dies) is retried once, then reported with
status "failed" and its error; the other trials are unaffected. With `out`, every trial
checkpoints into out/checkpoints after each epoch (and every `--checkpoint-steps` steps), so a
retried trial — or a rerun of the whole sweep after the driver died — resumes from its last
checkpoint instead of restarting (bit-identical to an uninterrupted trial). Without Ray the sweep
runs on a local process pool and says so.

Outputs in `out`: results.csv, results.json (one row per trial), and accuracy_vs_density.png
(mean ± std over seeds, one line per policy) when matplotlib is installed.
"""
import argparse
import concurrent.futures as cf
import csv
import inspect
import itertools
import json
import math
import multiprocessing
import os
import pathlib
import sys

from ._lib import Error
from .sweep_trial import run_trial, trial_checkpoint  # noqa: F401  (public: sparsewire.sweep.run_trial)


def expand(grid):
    """The cartesian product of a grid {key: [values]} as a list of {key: value}, in a fixed order."""
    if not isinstance(grid, dict) or not grid:
        raise Error("grid must be a non-empty mapping of config key -> list of values")
    keys = list(grid)
    values = []
    for k in keys:
        v = grid[k]
        if not isinstance(v, (list, tuple)) or not v:
            raise Error(f"grid['{k}'] must be a non-empty list, got {v!r}")
        values.append(list(v))
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _base_text(config):
    from .engine import config_text
    return config_text(config)


def _call(trial_fn, base, params, threads, options):
    if options and not _accepts(trial_fn, options):
        options = {}  # a custom trial_fn(base, params, threads) without checkpoint arguments
    return trial_fn(base, params, threads, **options)


def _accepts(fn, options):
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return all(k in parameters for k in options) or any(p.kind == p.VAR_KEYWORD for p in parameters.values())


def _worker_env():
    """Environment every worker needs to import this package and load the same library."""
    from ._lib import lib
    pkg_parent = str(pathlib.Path(__file__).resolve().parent.parent)
    env = {"SPARSEWIRE_LIB": str(lib().path), "SPARSEWIRE_QUIET": "1",
           "PYTHONPATH": os.pathsep.join([pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    if os.environ.get("OPENBLAS_CORETYPE"):
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return env


def _run_ray(trials, options, base, trial_fn, cpus_per_trial, num_cpus, address, retries, log):
    import ray
    env = _worker_env()
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": str(cpus_per_trial)})
    if not ray.is_initialized():
        kwargs = {"runtime_env": {"env_vars": env}, "include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
        log(f"sweep: Ray {ray.__version__}, {ray.cluster_resources().get('CPU', 0):g} CPUs, "
            f"{cpus_per_trial} per trial")
    task = ray.remote(num_cpus=cpus_per_trial, max_retries=retries, retry_exceptions=True)(_call)
    refs = [task.remote(trial_fn, base, p, cpus_per_trial, o) for p, o in zip(trials, options)]
    out = []
    for i, ref in enumerate(refs):
        try:
            out.append(ray.get(ref))
        except Exception as e:  # the task failed on every attempt (exception or dead worker)
            cause = getattr(e, "cause", None) or e
            out.append({"status": "failed", "error": f"{type(cause).__name__}: {cause}".strip()[:2000]})
        log(f"sweep: trial {i + 1}/{len(trials)} -> {_short(out[-1])}")
    return out


def _run_local(trials, options, base, trial_fn, cpus_per_trial, num_cpus, retries, log):
    workers = max(1, (num_cpus or os.cpu_count() or 1) // cpus_per_trial)
    env = _worker_env()
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    ctx = multiprocessing.get_context("spawn")
    out = [None] * len(trials)
    attempts = [0] * len(trials)
    pending = list(range(len(trials)))
    while pending:
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_call, trial_fn, base, trials[i], cpus_per_trial, options[i]): i for i in pending}
            retry = []
            for f in cf.as_completed(futures):
                i = futures[f]
                attempts[i] += 1
                try:
                    out[i] = f.result()
                except Exception as e:  # includes BrokenProcessPool when a worker dies
                    if attempts[i] <= retries:
                        retry.append(i)
                        continue
                    out[i] = {"status": "failed", "error": f"{type(e).__name__}: {e}"[:2000]}
                log(f"sweep: trial {i + 1}/{len(trials)} -> {_short(out[i])}")
        pending = retry
    return out


def _short(row):
    if row.get("status") == "ok":
        return f"accuracy {row['test_accuracy']:.4f}"
    return f"FAILED ({row.get('error', '?')[:200]})"


def sweep(config, grid, out=None, overrides=None, backend="auto", address=None, num_cpus=None, cpus_per_trial=1,
          retries=1, trial_fn=None, plot=True, log=None, checkpoints="auto", checkpoint_steps=None):
    """Runs every combination of `grid` on top of `config` (and `overrides`, {key: value} applied
    to every trial); returns one row per trial: the grid values, `status` ("ok" or "failed"),
    metrics or `error`. Writes results.csv, results.json and accuracy_vs_density.png into `out`
    when given. `trial_fn(base_config_text, params, threads) -> dict` replaces the default
    trainer (it must be picklable; it gets `checkpoint=` and `checkpoint_steps=` too when it
    accepts them).

    Preemption: `checkpoints` is a directory for per-trial checkpoints ("auto": `out/checkpoints`
    when `out` is given, else none; None: none). Each trial saves after every epoch (and every
    `checkpoint_steps` steps); a retried trial — its worker killed, or an exception — and a rerun
    of the whole sweep resume each trial from its last checkpoint instead of restarting it."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    base = _base_text(config)
    grid_trials = expand(grid)
    trials = [{**(overrides or {}), **t} for t in grid_trials]
    if cpus_per_trial < 1:
        raise Error(f"cpus_per_trial must be ≥ 1, got {cpus_per_trial}")
    if checkpoint_steps is not None and (not isinstance(checkpoint_steps, int) or checkpoint_steps < 1):
        raise Error(f"checkpoint_steps must be a positive integer, got {checkpoint_steps!r}")
    trial_fn = trial_fn or run_trial
    if backend not in ("auto", "ray", "local"):
        raise Error(f"backend must be auto, ray or local, got {backend!r}")
    use_ray = backend == "ray"
    if backend == "auto":
        try:
            import ray  # noqa: F401
            use_ray = True
        except ImportError:
            log("sweep: Ray is not installed (pip install ray); running on a local process pool instead")
    if address and not use_ray:
        raise Error("address= needs Ray (pip install ray)")
    log(f"sweep: {len(trials)} trials on {'Ray' if use_ray else 'a local process pool'}")
    if checkpoints == "auto":
        checkpoints = pathlib.Path(out) / "checkpoints" if out else None
    if checkpoints is not None:
        pathlib.Path(checkpoints).mkdir(parents=True, exist_ok=True)
        log(f"sweep: trial checkpoints in {checkpoints} (a retried or rerun trial resumes from its last one)")
        options = [{"checkpoint": trial_checkpoint(checkpoints, base, t), "checkpoint_steps": checkpoint_steps}
                   for t in trials]
    else:
        options = [{} for _ in trials]
    if use_ray:
        results = _run_ray(trials, options, base, trial_fn, cpus_per_trial, num_cpus, address, retries, log)
    else:
        results = _run_local(trials, options, base, trial_fn, cpus_per_trial, num_cpus, retries, log)
    rows = [{"trial": i, **params, **res} for i, (params, res) in enumerate(zip(grid_trials, results))]
    if out:
        write(rows, out, plot=plot, log=log)
    return rows


def write(rows, out, plot=True, log=print):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    if plot:
        try:
            plot_accuracy(rows, out / "accuracy_vs_density.png")
        except ImportError:
            log("sweep: matplotlib is not installed; no plot (pip install matplotlib)")
    log(f"sweep: wrote {out}/results.csv and results.json")


def summary(rows):
    """{(policy, density): (mean, std, n)} of test accuracy over the other grid keys (seeds)."""
    groups = {}
    for r in rows:
        if r.get("status") != "ok":
            continue
        groups.setdefault((r.get("policy", "?"), r.get("density", 1.0)), []).append(r["test_accuracy"])
    out = {}
    for k, v in groups.items():
        m = sum(v) / len(v)
        s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        out[k] = (m, s, len(v))
    return out


def plot_accuracy(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = summary(rows)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for policy in sorted({p for p, _ in s}):
        pts = sorted((d, *s[(p, d)][:2]) for p, d in s if p == policy)
        xs, ms, ss = zip(*pts)
        ax.errorbar(xs, [100 * m for m in ms], yerr=[100 * x for x in ss], marker="o", capsize=3, label=policy)
    ax.set_xlabel("density (fraction of weights kept)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xscale("log")
    densities = sorted({d for _, d in s})
    ax.set_xticks(densities)
    ax.set_xticklabels([f"{d:g}" for d in densities])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("accuracy vs density (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _load_grid(path):
    text = pathlib.Path(path).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        import yaml
    except ImportError:
        raise Error(f"{path}: not JSON, and PyYAML is not installed to read YAML (pip install pyyaml)") from None
    return yaml.safe_load(text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sparsewire.sweep", description="Grid sweeps of SparseWire trainings on Ray.")
    ap.add_argument("--config", required=True, help="base config (YAML/JSON file)")
    ap.add_argument("--grid", required=True, help="grid file: {key: [values]} in YAML or JSON")
    ap.add_argument("--out", required=True, help="directory for results.csv/json and the plot")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a base config key")
    ap.add_argument("--address", help="join an existing Ray cluster (e.g. auto or 10.0.0.1:6379)")
    ap.add_argument("--num-cpus", type=int, help="CPUs for a local Ray (default: all)")
    ap.add_argument("--cpus-per-trial", type=int, default=1)
    ap.add_argument("--backend", choices=["auto", "ray", "local"], default="auto")
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--checkpoint-steps", type=int, metavar="K",
                    help="also checkpoint every K steps inside an epoch (default: after each epoch)")
    ap.add_argument("--no-checkpoints", action="store_true",
                    help="do not checkpoint trials (a retried trial then restarts from scratch)")
    args = ap.parse_args(argv)
    grid = _load_grid(args.grid)
    overrides = {}
    for kv in args.set:
        k, sep, v = kv.partition("=")
        if not sep:
            print(f"sweep: --set needs KEY=VALUE, got {kv!r}", file=sys.stderr)
            return 2
        overrides[k] = v
    try:
        rows = sweep(args.config, grid, out=args.out, overrides=overrides, backend=args.backend, address=args.address,
                     num_cpus=args.num_cpus, cpus_per_trial=args.cpus_per_trial, retries=args.retries,
                     checkpoints=None if args.no_checkpoints else "auto", checkpoint_steps=args.checkpoint_steps)
    except Error as e:
        print(f"sweep: {e}", file=sys.stderr)
        return 2
    s = summary(rows)
    print(f"{'policy':<16}{'density':>8}{'accuracy %':>14}{'n':>4}")
    for (p, d), (m, sd, n) in sorted(s.items()):
        print(f"{p:<16}{d:>8}{100 * m:>9.2f} ± {100 * sd:.2f}{n:>4}")
    failed = [r for r in rows if r.get("status") != "ok"]
    for r in failed:
        print(f"failed: trial {r['trial']}: {r.get('error')}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
