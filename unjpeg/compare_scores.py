"""Scores of `unjpeg compare`: per image, per row (means and the gain over JPEG), the crops of the figure, and
the metrics.json / metrics.csv files.

A row is one model (or the plain JPEG, `JPEG_ROW`) under one condition (unjpeg.compare_conditions), restored
with or without the JPEG-consistency projection. Per-image values are averaged (KAIR averages per-image
scores). `delta_psnr` and `delta_lpips` are the row's mean minus the JPEG row's mean on the same images and
condition; `worst_delta_psnr` is the lowest per-image PSNR gain.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from unjpeg.compare_conditions import Condition
from unjpeg.data.jpeg import GRID
from unjpeg.losses.metrics import psnr, psnr_b, psnr_y, ssim
from unjpeg.losses.sharpness import sharpness_report
from unjpeg.report_columns import SHARPNESS_KEYS

JPEG_ROW = "jpeg"
METRIC_KEYS = ("psnr", "psnr_y", "ssim", "psnr_b", "lpips")
DELTA_KEYS = ("delta_psnr", "delta_lpips", "worst_delta_psnr")
CONDITION_KEYS = ("quality", "subsampling", "double", "consistency")
CSV_FIELDS = ("model", *CONDITION_KEYS, "n_images", *METRIC_KEYS, *DELTA_KEYS, *SHARPNESS_KEYS)
CROP_SIDE = 96  # px of the crops shown in the figure, 12 JPEG blocks


def score(original: np.ndarray, restored: np.ndarray, lpips) -> dict:
    """Scores of one (H, W, C) uint8 image against its original (H, W, C) uint8; `lpips` an LPIPS model
    taking (B, H, W, 3 or 1) float32 in [-1, 1], reference first."""

    def signed(image):  # (1, H, W, C) float32 in [-1, 1]
        return image[None].astype(np.float32) / 127.5 - 1.0

    sharpness = sharpness_report(restored, original)
    return {
        "psnr": psnr(original, restored),
        "psnr_y": psnr_y(original, restored),
        "ssim": ssim(original, restored),
        "psnr_b": psnr_b(original, restored),
        "lpips": float(np.asarray(lpips(signed(original), signed(restored)))[0]),
        "sharpness": {key: sharpness[key] for key in SHARPNESS_KEYS},
    }


def _mean(values: list) -> float | None:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else None


def _gains(images: list[dict], jpeg_images: list[dict]) -> dict:
    """Mean PSNR and LPIPS gains over the JPEG row, and the worst per-image PSNR gain (None for inf PSNR)."""
    jpeg_by_name = {image["name"]: image for image in jpeg_images}
    psnr_gains = [image["psnr"] - jpeg_by_name[image["name"]]["psnr"] for image in images]
    psnr_gains = [g for g in psnr_gains if math.isfinite(g)]
    lpips_gains = [image["lpips"] - jpeg_by_name[image["name"]]["lpips"] for image in images]
    return {
        "delta_psnr": _mean(psnr_gains),
        "delta_lpips": _mean(lpips_gains),
        "worst_delta_psnr": min(psnr_gains, default=None),
    }


def make_row(
    model: str, consistency: bool | None, condition: Condition, images: list[dict], jpeg: list[dict]
):
    """One row of metrics.json: the condition, the means of the per-image values, the gains over `jpeg`
    (the JPEG row's per-image values; no gains for the JPEG row itself) and the per-image values."""
    row = {
        "model": model,
        "quality": condition.quality,
        "subsampling": condition.subsampling,
        "double": condition.double,
        "consistency": consistency,
        "n_images": len(images),
    }
    row.update({key: _mean([image[key] for image in images]) for key in METRIC_KEYS})
    gains = _gains(images, jpeg) if model != JPEG_ROW else dict.fromkeys(DELTA_KEYS)
    row.update(gains)
    row["sharpness"] = {key: _mean([image["sharpness"][key] for image in images]) for key in SHARPNESS_KEYS}
    row["images"] = images
    return row


def crop(name: str, condition: Condition, outputs: dict, original: np.ndarray) -> dict:
    """The 8-aligned window (up to 96 px) where the rows differ most: the variance of the rows' channel mean,
    or, for the JPEG row alone or rows that are all equal, the JPEG's error. Returns the crops of every row
    ({label: (H, W, C) uint8}) and of the original."""
    stack = np.stack([image.astype(np.float64).mean(axis=-1) for image in outputs.values()])
    variance = stack.var(axis=0)
    if not variance.any():
        variance = np.abs(stack[0] - original.astype(np.float64).mean(axis=-1))
    height, width = (side // GRID * GRID for side in variance.shape)
    side = min(CROP_SIDE, height, width)
    blocks = variance[:height, :width].reshape(height // GRID, GRID, width // GRID, GRID).sum(axis=(1, 3))
    k = side // GRID
    sums = np.pad(blocks.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    windows = sums[k:, k:] - sums[:-k, k:] - sums[k:, :-k] + sums[:-k, :-k]
    by, bx = np.unravel_index(int(np.argmax(windows)), windows.shape)
    top, left = int(by) * GRID, int(bx) * GRID
    panels = {row: image[top : top + side, left : left + side] for row, image in outputs.items()}
    panels["original"] = original[top : top + side, left : left + side]
    return {
        "name": name,
        "quality": condition.quality,
        "condition": condition.describe(),
        "top": top,
        "left": left,
        "size": side,
        "score": float(windows[by, bx]) / side**2,
        "panels": panels,
    }


def finite(value):
    """JSON has no inf or NaN (an exact restoration has infinite PSNR): write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def write_metrics(metrics: dict, json_path: Path, csv_path: Path) -> None:
    """metrics.json (everything, per image too) and metrics.csv (one line per row, no per-image values)."""
    json_path.write_text(json.dumps(finite(metrics), indent=1) + "\n")
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS)
        writer.writeheader()
        for row in finite(metrics["rows"]):
            values = {**{k: row[k] for k in CSV_FIELDS if k in row}, **row["sharpness"]}
            writer.writerow({k: "" if v is None else v for k, v in values.items()})
