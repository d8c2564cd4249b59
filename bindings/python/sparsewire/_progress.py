"""Progress display for Engine.fit: tqdm when installed, plain lines otherwise."""
import sys
import time


class Progress:
    def __init__(self, enabled, total_epochs):
        self.enabled = enabled
        self.total = total_epochs
        self.bar = None
        self.last = 0.0
        try:
            import tqdm  # noqa: F401
            self.tqdm = tqdm.tqdm if enabled else None
        except ImportError:
            self.tqdm = None

    @property
    def _of(self):
        return f"/{self.total}" if self.total else ""

    def step(self, p):
        if not self.enabled:
            return
        if self.tqdm:
            if self.bar is None:
                self.bar = self.tqdm(total=p.steps_in_epoch, desc=f"epoch {p.epoch}{self._of}", unit="step", leave=True)
            self.bar.update(p.step - self.bar.n)
            self.bar.set_postfix(loss=f"{p.loss:.4f}", acc=f"{100 * p.accuracy:.2f}%")
        elif time.monotonic() - self.last > 5 or p.step == p.steps_in_epoch:
            self.last = time.monotonic()
            print(f"epoch {p.epoch}{self._of} step {p.step}/{p.steps_in_epoch}  loss {p.loss:.4f}  "
                  f"acc {100 * p.accuracy:.2f}%  lr {p.lr:.4g}", file=sys.stderr, flush=True)

    def epoch_end(self, p):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        print(f"epoch {p.epoch}{self._of} done: train loss {p.loss:.4f} acc {100 * p.accuracy:.2f}% | "
              f"test loss {p.test_loss:.4f} acc {100 * p.test_accuracy:.2f}%", file=sys.stderr, flush=True)
