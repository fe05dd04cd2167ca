"""The run folder contract shared by L2 and GAN training.

runs/NAME/
  config.json       the resolved config of the run
  state.json        {"step": int, "epoch": int} of the last checkpoint
  checkpoint*       the last good checkpoint (weights and optimizer state)
  generator.keras   the final generator (EMA weights for a GAN run)
  log.csv, tensorboard/, samples/epoch_NNNN.png
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from unjpeg.data.images import to_uint8


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (exists, missing, or of another architecture)."""


def prepare_run_folder(out: str | Path, resume: bool, force: bool) -> Path:
    """Create `out`, or check it may be reused: refuse an existing folder unless resuming or forced."""
    out = Path(out)
    if resume:
        if not (out / "config.json").is_file():
            raise RunFolderError(
                f"{out}: nothing to resume (no config.json); drop --resume to start a new run"
            )
        return out
    if out.exists() and any(out.iterdir()):
        if not force:
            raise RunFolderError(
                f"{out}: run folder exists; use --resume to continue it or --force to replace it"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path: str | Path, payload: dict) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")
    os.replace(tmp, path)


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_config(out: Path, config) -> None:
    write_json(out / "config.json", dataclasses.asdict(config))


def load_config(out: str | Path) -> dict:
    path = Path(out) / "config.json"
    if not path.is_file():
        raise RunFolderError(f"{out}: not a run folder (no config.json)")
    return json.loads(path.read_text())


def split_seed(config: dict) -> int:
    """The train/validation split seed of a saved run config; runs made before --split-seed split by `seed`."""
    return config.get("split_seed", config.get("seed", 1))


def split_of_init(init: str | Path) -> dict:
    """`{"split_seed": n}` of the run folder `init`, else `{}`: a stage started from a run keeps its split.

    A shipped model or a bare `.keras` file carries no config, so the default split applies.
    """
    if not init or not (Path(init) / "config.json").is_file():
        return {}
    return {"split_seed": split_seed(load_config(init))}


def read_state(out: Path) -> dict:
    path = out / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {"step": 0, "epoch": 0}


def save_sample_grid(path: str | Path, degraded: np.ndarray, restored: np.ndarray, clean: np.ndarray) -> None:
    """Write a PNG with one row per image: JPEG | restored | original; inputs (N, H, W, C) in [0, 1]."""
    rows = [
        np.concatenate([d, np.clip(r, 0, 1), c], axis=1)
        for d, r, c in zip(degraded, restored, clean, strict=True)
    ]
    grid = to_uint8(np.concatenate(rows, axis=0))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
