"""The run directory: where a training run keeps its checkpoints and metrics.

    out/last.safetensors        the latest checkpoint (every epoch, and every N steps if asked)
    out/epoch-003.safetensors   the checkpoint at the end of epoch 3 (one per epoch)
    out/metrics.json            configuration and per-epoch metrics, rewritten each epoch
    out/model.safetensors       the final weights (a plain state dict, ``lemmata.io.load``)

Every file is written atomically (:func:`lemmata.io.atomic_write_bytes`), so a run killed at any
moment leaves the previous version of each file intact, and ``--resume`` continues from
``last.safetensors``.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

from .. import io
from .config import ConfigError

__all__ = ["RunDirectory", "LAST", "METRICS", "FINAL"]

LAST = "last.safetensors"
METRICS = "metrics.json"
FINAL = "model.safetensors"
_EPOCH = re.compile(r"^epoch-(\d+)\.safetensors$")


class RunDirectory:
    """The files of one run under ``path``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    @staticmethod
    def epoch_name(epoch: int) -> str:
        return f"epoch-{epoch:03d}.safetensors"

    def epoch_files(self) -> list[tuple[int, str]]:
        """(epoch, path) of the per-epoch checkpoints, in epoch order."""
        try:
            names = os.listdir(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = [(int(m.group(1)), self.file(n)) for n in names if (m := _EPOCH.match(n))]
        return sorted(found)

    def latest(self) -> str | None:
        """``last.safetensors`` if present, else the newest per-epoch checkpoint, else None."""
        if os.path.isfile(self.file(LAST)):
            return self.file(LAST)
        epochs = self.epoch_files()
        return epochs[-1][1] if epochs else None

    def prepare(self) -> None:
        """Create the directory (and parents); refuse a path that is a file."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ConfigError(f"--out {self.path} exists and is not a directory")
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"--out {self.path}: cannot create the directory "
                              f"({error.strerror or error})") from None

    def save(self, epoch_end: bool, **state: Any) -> str:
        """Write the checkpoint to last.safetensors (and epoch-NNN.safetensors at an epoch's
        end); returns the path of ``last``."""
        if epoch_end:
            io.save_checkpoint(self.file(self.epoch_name(state["epoch"])), **state)
        io.save_checkpoint(self.file(LAST), **state)
        return self.file(LAST)

    def write_metrics(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, indent=2, allow_nan=True).encode("utf-8") + b"\n"
        io.atomic_write_bytes(self.file(METRICS), data)

    def write_final(self, state_dict: Any) -> str:
        io.save(state_dict, self.file(FINAL))
        return self.file(FINAL)
