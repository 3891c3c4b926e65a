"""Training runs: the configuration, the loop with exact resumption, and ``lemmata train``.

    from lemmata.training import TrainConfig, Trainer
    result = Trainer(TrainConfig(model="cnn", epochs=5), out="runs/cnn").fit()
    result = Trainer.resume("runs/cnn").fit()      # after an interruption: same final weights

The loop is ordinary PyTorch-style code over :mod:`lemmata.data`, :mod:`lemmata.nn` and
:mod:`lemmata.optim`; checkpoints are :func:`lemmata.io.save_checkpoint` files in the run
directory (:mod:`.checkpoints`).
"""
from .checkpoints import RunDirectory
from .config import (
    DATASETS, DEFAULT_LR, MODELS, OPTIMIZERS, SCHEDULERS, ConfigError, TrainConfig,
)
from .loop import Trainer, TrainingDiverged, TrainResult, evaluate
from .registry import DataInfo, build_datasets, build_model, build_optimizer, build_scheduler

__all__ = ["TrainConfig", "ConfigError", "Trainer", "TrainResult", "TrainingDiverged",
           "evaluate", "RunDirectory", "DataInfo", "build_datasets", "build_model",
           "build_optimizer", "build_scheduler", "MODELS", "DATASETS", "OPTIMIZERS",
           "SCHEDULERS", "DEFAULT_LR"]
