"""The training loop: epochs of minibatch steps, evaluation, checkpoints, exact resumption.

One step is the textbook one — logits = model(x), loss = cross_entropy(logits, y),
``optimizer.zero_grad(); loss.backward(); optimizer.step()`` — followed by the schedule's step
(per batch for one-cycle, per epoch otherwise).  After each epoch the model is evaluated on the
test split and a checkpoint is written; with ``checkpoint_every=N`` also after every N-th step.

Exact resumption.  A checkpoint holds the model, the optimiser state, the schedule, the global
generator's state, the epoch and step counters, the data loader's position in the epoch's
shuffled order, and the running sums of the epoch's loss and accuracy.  Everything that happens
after a step depends only on these, so a run resumed from any checkpoint computes exactly the
operations of an uninterrupted run and ends with bit-for-bit the same weights.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import io
from .. import random as _random
from ..autograd import no_grad
from ..data import DataLoader
from ..nn import functional as F
from .checkpoints import RunDirectory
from .config import ConfigError, TrainConfig
from .registry import (
    PER_BATCH_SCHEDULERS, build_datasets, build_model, build_optimizer, build_scheduler,
    check_fit,
)

__all__ = ["Trainer", "TrainResult", "TrainingDiverged", "evaluate", "EVAL_BATCH_SIZE"]

EVAL_BATCH_SIZE = 500


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainResult:
    """The state of a run when :meth:`Trainer.fit` returned."""

    completed: bool
    epoch: int
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    out: str | None = None

    @property
    def test_accuracy(self) -> float | None:
        return self.history[-1]["test_accuracy"] if self.history else None


def evaluate(model: Any, loader: DataLoader) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` over ``loader``, in eval mode, no gradients."""
    was_training = model.training
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    try:
        with no_grad():
            for x, y in loader:
                logits = model(x)
                loss_sum += float(F.cross_entropy(logits, y, reduction="sum").item())
                correct += int(np.count_nonzero(logits._data.argmax(axis=1) == y._data))
                seen += len(y)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return loss_sum / seen, correct / seen


class _Display:
    """The rich progress bar (loss, accuracy, throughput) and the one-line epoch summaries."""

    def __init__(self, console: Any, enabled: bool) -> None:
        self.console = console if enabled else None
        self.progress = None
        self.task = None

    def print(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, highlight=False, soft_wrap=True)

    def start_epoch(self, epoch: int, epochs: int, total: int, done: int) -> None:
        """Show a live bar on a terminal; in a log (no terminal) only the epoch summaries."""
        if self.console is None or not self.console.is_terminal:
            return
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
            TimeRemainingColumn,
        )
        self.progress = Progress(
            TextColumn(f"epoch {epoch + 1}/{epochs}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:6.2%}  "
                       "{task.fields[rate]:,.0f} samples/s"),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task("train", total=total, completed=done, loss=math.nan,
                                           acc=0.0, rate=0.0)

    def update(self, done: int, loss: float, acc: float, rate: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done, loss=loss, acc=acc, rate=rate)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class Trainer:
    """A training run built from a :class:`TrainConfig`.

    ``Trainer(config, out="runs/a")`` seeds the global generator, loads the data, builds and
    checks the model, the optimiser, the schedule and the loaders; ``fit()`` trains, evaluating
    and checkpointing into ``out`` each epoch.  ``Trainer.resume(out)`` rebuilds the run from the
    latest checkpoint in ``out`` and ``fit()`` then continues it exactly.
    """

    def __init__(self, config: TrainConfig, out: str | os.PathLike | None = None,
                 data_root: str | os.PathLike = "data", checkpoint_every: int = 0,
                 console: Any = None, progress: bool = False) -> None:
        if not isinstance(config, TrainConfig):
            raise TypeError(f"Trainer: config must be a TrainConfig, got {type(config).__name__}")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) \
                or checkpoint_every < 0:
            raise ConfigError(f"checkpoint interval must be a non-negative number of steps, got "
                              f"{checkpoint_every!r}")
        self.config = config = config.resolved()
        self.run_dir = RunDirectory(out) if out is not None else None
        self.checkpoint_every = checkpoint_every
        self.last_checkpoint: str | None = None
        _random.manual_seed(config.seed)
        self.train_set, self.test_set, self.info = build_datasets(config.dataset, data_root)
        self.model = build_model(config.model, self.info)
        check_fit(self.model, self.info, config.model, config.dataset)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.train_loader = DataLoader(self.train_set, batch_size=config.batch_size, shuffle=True)
        self.test_loader = DataLoader(self.test_set, batch_size=EVAL_BATCH_SIZE)
        if len(self.train_loader) == 0:
            raise ConfigError(f"dataset '{config.dataset}' has no training samples")
        self.scheduler = build_scheduler(config, self.optimizer, len(self.train_loader))
        self.per_batch_schedule = config.scheduler in PER_BATCH_SCHEDULERS
        self.epoch = 0  # completed epochs
        self.step = 0   # optimiser steps taken
        self.history: list[dict[str, Any]] = []
        self._running = self._fresh_running()
        self._display = _Display(console, progress and console is not None)

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _fresh_running() -> dict[str, Any]:
        return {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}

    @classmethod
    def resume(cls, out: str | os.PathLike, data_root: str | os.PathLike = "data",
               checkpoint_every: int = 0, console: Any = None, progress: bool = False,
               overrides: dict[str, Any] | None = None) -> "Trainer":
        """Rebuild the run recorded in ``out``'s latest checkpoint and restore its state.

        ``overrides`` are configuration values asked for explicitly; any that differs from the
        checkpoint's raises ConfigError (a resumed run must be the run that was checkpointed).
        """
        run_dir = RunDirectory(out)
        path = run_dir.latest()
        if path is None:
            raise ConfigError(f"--resume: no checkpoint in {run_dir.path} (expected "
                              f"{run_dir.file('last.safetensors')})")
        state = io.load_checkpoint(path)
        try:
            config = TrainConfig.from_dict(state.get("config"))
        except (ConfigError, TypeError) as error:
            raise ConfigError(f"{path}: not a checkpoint of `lemmata train` ({error})") from None
        for key, value in (overrides or {}).items():
            stored = getattr(config, key)
            if value is not None and value != stored:
                raise ConfigError(f"--resume: {key.replace('_', '-')} {value!r} differs from the "
                                  f"checkpoint's {stored!r} ({path}); omit it, or start a new run "
                                  f"in another --out")
        trainer = cls(config, out, data_root, checkpoint_every, console, progress)
        trainer._restore(path)
        return trainer

    def _restore(self, path: str) -> None:
        state = io.load_checkpoint(path, model=self.model, optimizer=self.optimizer,
                                   scheduler=self.scheduler)
        try:
            self.train_loader.load_state_dict(state["loader"])
            _random.set_rng_state(state["rng_state"])
            self.epoch, self.step = int(state["epoch"]), int(state["step"])
            self.history = list(state["history"])
            self._running = dict(state["running"])
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"{path}: incomplete training checkpoint ({error})") from None
        self.last_checkpoint = path

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(self, epoch_end: bool) -> None:
        if self.run_dir is None:
            return
        self.last_checkpoint = self.run_dir.save(
            epoch_end, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            epoch=self.epoch, step=self.step, config=self.config.to_dict(),
            loader=self.train_loader.state_dict(), history=self.history, running=self._running,
            data={"train": len(self.train_set), "test": len(self.test_set),
                  "shape": list(self.info.shape), "classes": self.info.num_classes})

    def _write_metrics(self) -> None:
        if self.run_dir is not None:
            self.run_dir.write_metrics({"config": self.config.to_dict(), "epochs": self.history})

    # ------------------------------------------------------------------ the loop
    def describe(self) -> str:
        c, info = self.config, self.info
        extra = f" momentum {c.momentum:g}" if c.momentum is not None else ""
        if c.weight_decay:
            extra += f" weight decay {c.weight_decay:g}"
        return (f"{c.model} on {c.dataset} ({len(self.train_set)} train / {len(self.test_set)} "
                f"test, {info.channels}×{info.height}×{info.width}, {info.num_classes} classes); "
                f"{c.optimizer} lr {c.lr:g}{extra}, schedule {c.scheduler}; {c.epochs} epochs of "
                f"batch {c.batch_size}; seed {c.seed}")

    def fit(self, max_steps: int | None = None) -> TrainResult:
        """Train until ``config.epochs`` epochs are done (or ``max_steps`` optimiser steps have
        been taken in all: the run then stops after that step and its checkpoint, as if
        interrupted).  Returns a :class:`TrainResult`."""
        if self.run_dir is not None:
            self.run_dir.prepare()
        started = time.perf_counter()
        while self.epoch < self.config.epochs:
            if self._train_epoch(max_steps):
                return self._result(False, started)
            record = self._end_epoch()
            self._display.print(self._summary(record))
        if self.run_dir is not None:
            self.run_dir.write_final(self.model.state_dict())
        return self._result(True, started)

    def _result(self, completed: bool, started: float) -> TrainResult:
        return TrainResult(completed, self.epoch, self.step, list(self.history),
                           time.perf_counter() - started,
                           self.run_dir.path if self.run_dir is not None else None)

    def _train_epoch(self, max_steps: int | None) -> bool:
        """Run the rest of the current epoch; True if stopped early by ``max_steps``."""
        model, optimizer, scheduler = self.model, self.optimizer, self.scheduler
        model.train()
        batches = iter(self.train_loader)
        total = len(batches.bounds) - 1
        running = self._running
        segment_start, segment_samples = time.perf_counter(), 0
        self._display.start_epoch(self.epoch, self.config.epochs, total, batches.position)
        try:
            for x, y in batches:
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if scheduler is not None and self.per_batch_schedule:
                    scheduler.step()
                self.step += 1
                value = float(loss.item())
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the training loss became {value} at epoch {self.epoch + 1}, step "
                        f"{self.step} (lr {optimizer.param_groups[0]['lr']:g}); try a smaller "
                        f"--lr")
                n = len(y)
                running["loss_sum"] += value * n
                running["correct"] += int(np.count_nonzero(logits._data.argmax(axis=1) == y._data))
                running["seen"] += n
                segment_samples += n
                elapsed = time.perf_counter() - segment_start
                self._display.update(batches.position, running["loss_sum"] / running["seen"],
                                     running["correct"] / running["seen"],
                                     segment_samples / elapsed if elapsed > 0 else 0.0)
                due = self.checkpoint_every and self.step % self.checkpoint_every == 0
                stop = max_steps is not None and self.step >= max_steps
                if due or stop:
                    running["seconds"] += time.perf_counter() - segment_start
                    segment_start = time.perf_counter()
                    self._checkpoint(epoch_end=False)
                if stop:
                    return True
        finally:
            self._display.stop()
        running["seconds"] += time.perf_counter() - segment_start
        return False

    def _end_epoch(self) -> dict[str, Any]:
        running = self._running
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None and not self.per_batch_schedule:
            self.scheduler.step()
        test_loss, test_accuracy = evaluate(self.model, self.test_loader)
        seen = max(running["seen"], 1)
        record = {"epoch": self.epoch + 1, "step": self.step,
                  "train_loss": running["loss_sum"] / seen,
                  "train_accuracy": running["correct"] / seen,
                  "test_loss": test_loss, "test_accuracy": test_accuracy, "lr": lr,
                  "seconds": running["seconds"],
                  "samples_per_second": running["seen"] / running["seconds"]
                  if running["seconds"] > 0 else None}
        self.history.append(record)
        self.epoch += 1
        self._running = self._fresh_running()
        self._checkpoint(epoch_end=True)
        self._write_metrics()
        return record

    def _summary(self, r: dict[str, Any]) -> str:
        rate = r["samples_per_second"]
        return (f"epoch {r['epoch']}/{self.config.epochs}  loss {r['train_loss']:.4f}  "
                f"acc {r['train_accuracy']:6.2%}  │  test loss {r['test_loss']:.4f}  "
                f"acc {r['test_accuracy']:6.2%}  │  lr {r['lr']:.3g}  "
                + (f"{rate:,.0f} samples/s  " if rate else "") + f"{r['seconds']:.1f} s")
