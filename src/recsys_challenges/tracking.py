"""Run tracking: Lightning loggers for every training run, CSV always at hand, W&B offline.

Every run logs its full config (seed included) and its metrics to

* ``runs/csv/<technique>/<dataset>/<run>/metrics.csv`` (Lightning ``CSVLogger``), and
* a W&B offline run under ``runs/wandb/`` in project ``tracking.project``, grouped by
  ``<technique>/<dataset>``, job type ``<technique>``. Nothing leaves the machine; upload later
  with ``wandb sync runs/wandb/wandb/offline-run-*`` (see README).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys_challenges.config import require


@dataclass(frozen=True)
class TrackingParams:
    """``tracking`` in params.yaml."""

    csv: bool = True
    wandb: bool = True
    project: str = "recsys-challenges"
    root: str = "runs"

    def __post_init__(self) -> None:
        require(bool(self.project.strip()), "project must not be empty")


@contextlib.contextmanager
def run_loggers(
    params: TrackingParams, technique: str, dataset: str, run: str, config: dict[str, Any]
) -> Iterator[list[Any]]:
    """Loggers for one training run, with ``config`` logged as hyper-parameters; closed on exit.

    Use as ``with run_loggers(...) as loggers: trainer = Trainer(logger=loggers, ...)``.
    """
    from lightning.pytorch.loggers import CSVLogger, WandbLogger

    root = Path(params.root)
    loggers: list[Any] = []
    if params.csv:
        loggers.append(CSVLogger(save_dir=root / "csv" / technique, name=dataset, version=run))
    if params.wandb:
        os.environ.setdefault("WANDB_SILENT", "true")
        (root / "wandb").mkdir(parents=True, exist_ok=True)
        loggers.append(
            WandbLogger(
                project=params.project,
                name=f"{technique}/{dataset}/{run}",
                group=f"{technique}/{dataset}",
                job_type=technique,
                tags=[technique, dataset],
                save_dir=str(root / "wandb"),
                offline=True,
                config=config,
            )
        )
    for logger in loggers:
        logger.log_hyperparams(config)
    try:
        yield loggers
    finally:
        for logger in loggers:
            logger.finalize("success")
        if params.wandb:
            import wandb

            wandb.finish()


def log_images(loggers: list[Any], images: dict[str, Path]) -> None:
    """Attach figures (PNG files) to the W&B runs among ``loggers``."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            logger.log_image(key="figures", images=[str(p) for p in images.values()], caption=list(images))


def quiet_lightning() -> None:
    """Keep stage logs to our one line per run: no device banners, tips or deprecation notes."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*(treespec|LeafSpec|exists and is not empty|litlogger).*")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*[Ss]parse.*")
