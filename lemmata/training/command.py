"""``lemmata train``: the command-line front of :class:`~lemmata.training.Trainer`.

    lemmata train                                   MLP on digits, about 97 % in a few seconds
    lemmata train --model cnn --epochs 5 --out runs/cnn --checkpoint-every 20
    lemmata train --out runs/cnn --resume           continue exactly where it stopped

Options left out take the configuration's defaults (or, with ``--resume``, the checkpoint's
values; giving one that differs from the checkpoint is an error).  Without ``--out`` a fresh run
goes to ``runs/<dataset>-<model>`` (``-2``, ``-3`` … if taken).  A fresh run never overwrites
an existing run: an ``--out`` that already holds checkpoints must be continued with ``--resume``.

Exit status: 0 done; 2 a usage or data error (one line on stderr: unknown names with the valid
ones, a model that does not fit the data, missing or corrupt files); 1 the loss diverged;
130 interrupted (the last checkpoint stays valid: continue with ``--resume``).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import io
from ..data.formats import DataFormatError
from .checkpoints import RunDirectory
from .config import DATASETS, MODELS, OPTIMIZERS, SCHEDULERS, ConfigError, TrainConfig
from .loop import Trainer, TrainingDiverged

__all__ = ["add_arguments", "run"]

_CONFIG_OPTIONS = ("model", "dataset", "epochs", "batch_size", "lr", "optimizer", "momentum",
                   "weight_decay", "scheduler", "seed")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lemmata train`` (every default None: "not given")."""
    defaults = TrainConfig()
    add = parser.add_argument
    add("--model", metavar="NAME", help=f"{', '.join(MODELS)} (default {defaults.model})")
    add("--dataset", metavar="NAME", help=f"{', '.join(DATASETS)} (default {defaults.dataset})")
    add("--data-root", metavar="DIR", default=None,
        help="folder holding the MNIST / FashionMNIST / cifar-10-batches-py files (default data)")
    add("--epochs", type=int, metavar="N", help=f"epochs (default {defaults.epochs})")
    add("--batch-size", type=int, metavar="B", help=f"batch size (default {defaults.batch_size})")
    add("--lr", type=float, metavar="LR",
        help="learning rate (default: sgd 0.05, adagrad 0.01, the others 0.001)")
    add("--optimizer", metavar="NAME",
        help=f"{', '.join(OPTIMIZERS)} (default {defaults.optimizer})")
    add("--momentum", type=float, metavar="M",
        help="momentum for sgd, signsgd (default 0.9) and rmsprop (default 0)")
    add("--weight-decay", type=float, metavar="WD",
        help="weight decay (default 0; decoupled for adamw)")
    add("--scheduler", metavar="NAME",
        help=f"{', '.join(SCHEDULERS)} (default {defaults.scheduler})")
    add("--seed", type=int, metavar="S", help=f"random seed (default {defaults.seed})")
    add("--out", metavar="DIR", help="run directory for checkpoints and metrics (default "
                                     "runs/<dataset>-<model>, numbered if taken)")
    add("--resume", action="store_true",
        help="continue the run in --out from its latest checkpoint, bit for bit")
    add("--checkpoint-every", type=int, metavar="STEPS", default=0,
        help="also checkpoint every STEPS optimiser steps (default: once per epoch)")


def _fresh_directory(base: str) -> str:
    candidate, n = base, 1
    while os.path.exists(candidate) and (not os.path.isdir(candidate) or os.listdir(candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno is not None and error.strerror:
        text = error.strerror + (f": {error.filename}" if error.filename else "")
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def _trainer(args: argparse.Namespace, console: Any) -> Trainer:
    explicit = {k: getattr(args, k) for k in _CONFIG_OPTIONS if getattr(args, k) is not None}
    data_root = args.data_root if args.data_root is not None else "data"
    if args.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every must be ≥ 0, got {args.checkpoint_every}")
    if args.resume:
        if args.out is None:
            raise ConfigError("--resume needs --out DIR, the run directory to continue")
        normalised = TrainConfig(**explicit)  # validates names and values, lower-cases names
        overrides = {k: getattr(normalised, k) for k in explicit}
        return Trainer.resume(args.out, data_root, args.checkpoint_every, console, True,
                              overrides)
    config = TrainConfig(**explicit)
    out = args.out if args.out is not None else _fresh_directory(
        os.path.join("runs", f"{config.dataset}-{config.model}"))
    existing = RunDirectory(out).latest()
    if existing is not None:
        raise ConfigError(f"{out} already holds a run ({os.path.basename(existing)}); continue it "
                          f"with --resume, or choose another --out")
    return Trainer(config, out, data_root, args.checkpoint_every, console, True)


def run(args: argparse.Namespace) -> int:
    """Run ``lemmata train`` with parsed arguments; returns the exit status."""
    from rich.console import Console
    console = Console(highlight=False, soft_wrap=True)
    trainer = None
    try:
        trainer = _trainer(args, console)
        resumed = trainer.step > 0 or trainer.epoch > 0
        console.print(("resuming " if resumed else "training ") + trainer.describe())
        if resumed and trainer.epoch >= trainer.config.epochs:
            console.print(f"{trainer.last_checkpoint}: the run is already complete "
                          f"({trainer.epoch} epochs, {trainer.step} steps)")
        elif resumed:
            console.print(f"from {trainer.last_checkpoint}: epoch {trainer.epoch + 1}, step "
                          f"{trainer.step}")
        console.print(f"run directory: {trainer.run_dir.path}")
        result = trainer.fit()
    except (ConfigError, io.CheckpointError, DataFormatError, OSError) as error:
        print(f"lemmata: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"lemmata: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        where = (f"; the last checkpoint is {trainer.last_checkpoint}: continue with "
                 f"lemmata train --out {trainer.run_dir.path} --resume"
                 if trainer is not None and trainer.last_checkpoint else "")
        print(f"lemmata: interrupted{where}", file=sys.stderr)
        return 130
    last = result.history[-1] if result.history else None
    if last is not None:
        console.print(f"test accuracy {last['test_accuracy']:.2%} after {result.epoch} epochs "
                      f"({result.step} steps; {result.seconds:.1f} s); weights in "
                      f"{trainer.run_dir.file('model.safetensors')}")
    return 0
