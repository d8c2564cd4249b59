"""One sweep trial: train, evaluate, report a row — preemptible, with checkpoints it resumes from."""
import hashlib
import json
import os
import pathlib
import time

from ._lib import Error


def run_trial(base_config, params, threads=1, checkpoint=None, checkpoint_steps=None, callback=None):
    """Trains one trial in this process and returns its row (raises on failure).

    With `checkpoint` (a path), the trial is preemptible: it saves a resumable checkpoint there
    after every epoch and, with `checkpoint_steps=K`, every K steps inside an epoch (through
    `Engine.request_stop()`, which leaves the epoch open so the resume is bit-identical). If the
    file already exists — a previous attempt was killed or failed — the trial resumes from it
    instead of restarting; the row then says `resumed_from` ({"epochs", "steps"} done before).
    The epoch results of earlier attempts are kept in `<checkpoint>.history.json`.
    `callback(event)` sees every step and epoch end as in `Engine.fit` (returning False stops)."""
    os.environ.setdefault("SPARSEWIRE_QUIET", "1")
    import sparsewire
    if checkpoint_steps is not None and (not isinstance(checkpoint_steps, int) or checkpoint_steps < 1):
        raise Error(f"checkpoint_steps must be a positive integer, got {checkpoint_steps!r}")
    start = time.time()
    with sparsewire.Engine(base_config) as e:
        e.set("threads", int(threads))
        for k, v in params.items():
            e.set(k, v)
        history, resumed = [], None
        if checkpoint is not None and os.path.exists(checkpoint):
            e.load(checkpoint)
            resumed = e.progress()
            history = _read_history(checkpoint)
        if checkpoint is None:
            history = e.fit(progress=False, callback=callback)
        else:
            history += _fit_checkpointed(e, checkpoint, checkpoint_steps, callback, history)
        ev = e.evaluate()
        counts = e.parameter_counts()
        last = history[-1] if history else {}
        row = {"status": "ok", "test_accuracy": ev["accuracy"], "test_loss": ev["loss"],
               "train_loss": last.get("train_loss"), "train_accuracy": last.get("train_accuracy"),
               "epochs": e.progress()["epochs"], "params_kept": counts["kept"], "params_total": counts["total"],
               "seconds": round(time.time() - start, 3), "pid": os.getpid()}
        if checkpoint is not None:
            row.update(checkpoint=str(checkpoint), resumed_from=resumed)
        return row


def _fit_checkpointed(e, checkpoint, every, callback, earlier):
    """Fits to the config's end, saving after the last step of every epoch and every `every`
    steps: `request_stop()` ends `fit` after that step with the epoch left open (SW_STOPPED),
    the checkpoint is written, and `fit` goes on. Returns the epoch results of this attempt."""
    steps_since = [0]
    first = len(e.history)

    def on_event(event):
        if callback is not None and callback(event) is False:
            return False
        if event["event"] == "step":
            steps_since[0] += 1
            if event["step"] == event["steps"] or (every and steps_since[0] >= every):
                steps_since[0] = 0
                e.request_stop()  # after this step, before the epoch's evaluation
        return True

    while True:
        try:
            e.fit(progress=False, callback=on_event)
        except Error as err:
            if err.status != "SW_STOPPED":
                raise
            _save(e, checkpoint, earlier + e.history[first:])
            continue
        _save(e, checkpoint, earlier + e.history[first:])  # finished: a rerun finds nothing left to train
        return e.history[first:]


def _save(e, checkpoint, history):
    e.save(checkpoint)  # atomic: the previous checkpoint stays intact until the new one is complete
    tmp = f"{checkpoint}.history.json.tmp"
    with open(tmp, "w") as f:
        json.dump(history, f)
    os.replace(tmp, f"{checkpoint}.history.json")


def _read_history(checkpoint):
    try:
        with open(f"{checkpoint}.history.json") as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def trial_checkpoint(directory, base_text, params):
    """The checkpoint path of one trial: named by a hash of the base config and the trial's
    values, so a changed config or grid never resumes a stale checkpoint."""
    key = json.dumps([base_text, sorted((k, repr(v)) for k, v in params.items())])
    return str(pathlib.Path(directory) / f"trial-{hashlib.sha256(key.encode()).hexdigest()[:16]}.safetensors")
