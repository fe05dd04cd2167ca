"""Restoring for `unjpeg compare`: load the models, read an original, JPEG it under a condition and restore it
with every model, without and/or with the JPEG-consistency projection (issue 17 item 4).

Every output is (H, W, C) uint8, rounded as saving a PNG would; the restoration runs at full resolution in
tiles (unjpeg.tiling) on the decoded JPEG, (H, W, C) float32 in [0, 1]. A model conditioned on the
quantization tables gets each condition's own JPEG file's tables, as `unjpeg restore` would read them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unjpeg.compare_conditions import Condition, degrade
from unjpeg.compare_scores import JPEG_ROW
from unjpeg.data.consistency import project_image
from unjpeg.data.images import ImageError, read_image, to_uint8
from unjpeg.data.jpeg import normalise_tables, quant_tables
from unjpeg.data.jpeg_file import read_jpeg
from unjpeg.sources import SourceError, load_restorer
from unjpeg.tiling import restore_image


@dataclass(frozen=True)
class RestoreSetup:
    """How every model restores: tiling (as `unjpeg restore`), self-ensemble, and which consistency settings
    to produce (False: the model's output; True: projected onto the JPEG file by `project`)."""

    tile: int = 512
    overlap: int = 32
    self_ensemble: bool = False
    consistency: tuple[bool, ...] = (False,)
    project: object = None


@dataclass(frozen=True)
class Restored:
    """One image under one condition: the reference it is scored against and every row's (H, W, C) uint8 output,
    keyed by (model, consistency); the JPEG row's key is (JPEG_ROW, None)."""

    reference: np.ndarray
    outputs: dict[tuple[str, bool | None], np.ndarray]


def restore_all(original: np.ndarray, condition: Condition, restorers: dict, setup: RestoreSetup) -> Restored:
    """JPEG the (H, W, C) uint8 `original` under `condition` and restore it with every model, without and/or
    with the consistency projection."""
    degraded = degrade(original, condition)
    outputs = {(JPEG_ROW, None): degraded.decoded}
    decoded = degraded.decoded.astype(np.float32) / 255.0
    tiling = {"tile": setup.tile, "overlap": setup.overlap}
    tables = normalise_tables(quant_tables(degraded.data)[0])  # the file's own, as restore reads them
    for model, restorer in restorers.items():
        restored = restore_image(
            restorer,
            decoded,
            fixed_size=restorer.fixed_size,
            self_ensemble=setup.self_ensemble,
            tables=tables if getattr(restorer, "conditioned", False) else None,
            **tiling,
        )
        for consistency in setup.consistency:
            image = setup.project(restored, degraded.data) if consistency else restored
            outputs[model, consistency] = to_uint8(image)
    return Restored(degraded.reference, outputs)


def projection():
    """The JPEG-consistency projection as compare uses it: ((H, W, C) float32 restored in [0, 1], the JPEG
    file's bytes) -> (H, W, C) float32 in [0, 1], every DCT coefficient inside the file's quantization interval
    (unjpeg.data.consistency.project_image, chroma "delta").
    """

    def project(restored: np.ndarray, data: bytes) -> np.ndarray:
        with tempfile.TemporaryDirectory() as folder:  # the coefficient reader takes a path
            path = Path(folder) / "condition.jpg"
            path.write_bytes(data)
            jpeg = read_jpeg(path)
        return project_image(restored, jpeg)

    return project


def load(name: str, source: str, precision: str = "float32"):
    """sources.load_restorer with any failure turned into a one-line SourceError naming the model."""
    try:
        return load_restorer(source, precision=precision)
    except Exception as err:  # noqa: BLE001 - formats vary (Keras, ONNX, TF): all mean "cannot load"
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SourceError(f"model {name}={source}: {message.removeprefix(f'{source}: ')}") from None


def load_lpips():
    from unjpeg.losses.lpips import LPIPS

    return LPIPS(net="alex")  # default value_range (-1, 1): inputs are scaled in compare_scores.score


def read_original(path: Path) -> tuple[np.ndarray | None, str]:
    """(H, W, C) uint8 original, or (None, reason) for an unreadable or too small image."""
    from unjpeg.losses.lpips import LPIPS_MIN_SIDE  # Keras: deferred

    try:
        image = to_uint8(read_image(path).pixels)
    except ImageError as err:
        return None, str(err).removeprefix(f"{path}: ")
    if min(image.shape[:2]) < LPIPS_MIN_SIDE:
        return None, f"{image.shape[1]}×{image.shape[0]} px, smaller than {LPIPS_MIN_SIDE} px (LPIPS)"
    return image, ""
