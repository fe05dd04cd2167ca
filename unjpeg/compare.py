"""`unjpeg compare`: score models against plain JPEG on a folder of photos, and write a report.

Protocol of KAIR / FBCNN / SwinIR: each image is compressed with Pillow at each quality (4:2:0 for colour,
grayscale kept single-channel); every model restores the decoded JPEG, (H, W, C) float32 in [0, 1], at full
resolution in tiles (gan.tiling); the output is rounded to 8 bits, as saving a PNG would, and scored on the
whole image against the original: PSNR, PSNR-Y, SSIM, PSNR-B (losses.metrics), LPIPS v0.1 alex (inputs in
[-1, 1], reference first) and the sharpness ratios of losses.sharpness. Per-image values are averaged.
The plain JPEG is always the row named `jpeg`.

Writes metrics.json, metrics.csv, and (through gan.report) report.md, figures and index.html.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np

from unjpeg.baselines.precision import CHOICES, PRECISION_HELP
from unjpeg.report import JSON_NAME, OUTPUTS, SHARPNESS_KEYS, format_table, write_report

__all__ = ["compare", "format_table", "add_arguments", "run"]

log = logging.getLogger(__name__)

JPEG_ROW = "jpeg"
METRIC_KEYS = ("psnr", "psnr_y", "ssim", "psnr_b", "lpips")
CROP_SIDE = 96  # px of the crops shown in the figure, 12 JPEG blocks


def compare(
    models: dict[str, str],
    data: str | Path,
    qualities: list[int],
    out: str | Path,
    tile: int = 512,
    overlap: int = 32,
    progress: bool = True,
    force: bool = False,
    self_ensemble: bool = False,
    precision: str = "float32",
) -> dict:
    """Score `models` ({name: SOURCE for gan.sources.load_restorer}) and plain JPEG on the images under `data`.

    `self_ensemble` restores with every model through gan.tiling's 8-fold geometric self-ensemble.

    Everything that can fail on bad input (out folder, qualities, images, model sources) is checked before
    any image is restored; errors are ValueError / FileNotFoundError with a one-line message. Unreadable
    images are skipped and listed. Returns the dict written to `out/metrics.json`.
    """
    from unjpeg.data.images import list_images

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise FileExistsError(f"{out}: exists and is not empty (use --force to overwrite)")
    qualities = [int(q) for q in qualities]
    if not qualities or any(not 1 <= q <= 100 for q in qualities):
        raise ValueError(f"qualities must be integers in [1, 100], got {qualities}")
    bad = [n for n in models if not n or n == JPEG_ROW or "=" in n]
    if bad:
        raise ValueError(
            f"model name {bad[0]!r} is not allowed (names must be non-empty and not {JPEG_ROW!r})"
        )
    paths = list_images(data)
    restorers = {name: _load(name, source, precision) for name, source in models.items()}
    lpips = _load_lpips()

    root = Path(data)
    names = [p.relative_to(root).as_posix() if root.is_dir() else p.name for p in paths]
    rows = [JPEG_ROW, *restorers]
    per_image = {(row, q): [] for q in qualities for row in rows}
    skipped, crops = [], []
    from tqdm import tqdm

    tiling = {"tile": tile, "overlap": overlap, "self_ensemble": self_ensemble}
    bar = tqdm(
        total=len(paths) * len(qualities) * len(rows), desc="compare", unit="img", disable=not progress
    )
    for path, name in zip(paths, names, strict=True):
        bar.set_postfix_str(name)
        original, reason = _read(path)
        if original is None:
            skipped.append({"name": name, "reason": reason})
            bar.update(len(qualities) * len(rows))
            continue
        for quality in qualities:
            outputs = _restore_all(original, quality, restorers, tiling, bar, lpips, per_image, name)
            if quality == min(qualities):
                crops.append(_crop(name, quality, outputs, original))
    bar.close()
    if all(not values for values in per_image.values()):
        raise ValueError(f"{data}: no readable images ({len(skipped)} skipped)")

    metrics = {
        "data": str(data),
        "qualities": qualities,
        "models": {JPEG_ROW: "input (Pillow JPEG, 4:2:0 for colour)", **models},
        "self_ensemble": self_ensemble,
        "precision": {name: restorer.precision.describe() for name, restorer in restorers.items()},
        "rows": [_row(row, q, per_image[row, q]) for q in qualities for row in rows],
        "skipped": skipped,
    }
    _write(metrics, out, sorted(crops, key=lambda c: -c["score"])[:3], force)
    return metrics


def _load(name: str, source: str, precision: str = "float32"):
    """sources.load_restorer with any failure turned into a one-line SourceError naming the model."""
    from unjpeg.sources import SourceError, load_restorer

    try:
        return load_restorer(source, precision=precision)
    except Exception as err:  # noqa: BLE001 - formats vary (Keras, ONNX, TF): all mean "cannot load"
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SourceError(f"model {name}={source}: {message.removeprefix(f'{source}: ')}") from None


def _load_lpips():
    from unjpeg.losses.lpips import LPIPS

    return LPIPS(net="alex")  # default value_range (-1, 1): inputs are scaled below, as the reference


def _read(path: Path) -> tuple[np.ndarray | None, str]:
    """(H, W, C) uint8 original, or (None, reason) for an unreadable or too small image."""
    from unjpeg.data.images import ImageError, read_image
    from unjpeg.losses.lpips import MIN_SIDE
    from unjpeg.losses.metrics import to_uint8

    try:
        image = to_uint8(read_image(path).pixels)
    except ImageError as err:
        return None, str(err).removeprefix(f"{path}: ")
    if min(image.shape[:2]) < MIN_SIDE:
        return None, f"{image.shape[1]}×{image.shape[0]} px, smaller than {MIN_SIDE} px (LPIPS)"
    return image, ""


def _restore_all(original, quality, restorers, tiling, bar, lpips, per_image, name) -> dict:
    """JPEG `original` at `quality`, restore with every model, append each row's scores; {row: uint8}.

    `tiling`: keyword arguments of gan.tiling.restore_image (tile, overlap, self_ensemble).
    """
    from unjpeg.data.jpeg import jpeg_roundtrip_uint8
    from unjpeg.losses.metrics import to_uint8
    from unjpeg.tiling import restore_image

    jpeg = jpeg_roundtrip_uint8(original, quality)
    outputs = {JPEG_ROW: jpeg}
    decoded = jpeg.astype(np.float32) / 255.0
    for row, restorer in restorers.items():
        restored = restore_image(restorer, decoded, fixed_size=restorer.fixed_size, **tiling)
        outputs[row] = to_uint8(restored)
    for row, image in outputs.items():
        per_image[row, quality].append({"name": name, **_score(original, image, lpips)})
        bar.update(1)
    return outputs


def _score(original: np.ndarray, restored: np.ndarray, lpips) -> dict:
    """Scores of one (H, W, C) uint8 image against its original (H, W, C) uint8."""
    from unjpeg.losses.metrics import psnr, psnr_b, psnr_y, ssim
    from unjpeg.losses.sharpness import sharpness_report

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


def _crop(name: str, quality: int, outputs: dict, original: np.ndarray) -> dict:
    """The 8-aligned window (up to 96 px) where the rows differ most: the variance of the rows' channel mean,
    or, for the JPEG row alone or rows that are all equal, the JPEG's error. Returns the crops of every row
    and of the original."""
    stack = np.stack([image.astype(np.float64).mean(axis=-1) for image in outputs.values()])
    score = stack.var(axis=0)
    if not score.any():
        score = np.abs(stack[0] - original.astype(np.float64).mean(axis=-1))
    height, width = (side // 8 * 8 for side in score.shape)
    side = min(CROP_SIDE, height, width)
    blocks = score[:height, :width].reshape(height // 8, 8, width // 8, 8).sum(axis=(1, 3))
    k = side // 8
    sums = np.pad(blocks.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    windows = sums[k:, k:] - sums[:-k, k:] - sums[k:, :-k] + sums[:-k, :-k]
    by, bx = np.unravel_index(int(np.argmax(windows)), windows.shape)
    top, left = int(by) * 8, int(bx) * 8
    panels = {row: image[top : top + side, left : left + side] for row, image in outputs.items()}
    panels["original"] = original[top : top + side, left : left + side]
    return {
        "name": name,
        "quality": quality,
        "top": top,
        "left": left,
        "size": side,
        "score": float(windows[by, bx]) / side**2,
        "panels": panels,
    }


def _mean(values: list) -> float | None:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else None


def _row(model: str, quality: int, images: list[dict]) -> dict:
    """One model × quality: the means of the per-image values (KAIR averages per-image scores)."""
    row = {"model": model, "quality": quality, "n_images": len(images)}
    row.update({key: _mean([image[key] for image in images]) for key in METRIC_KEYS})
    row["sharpness"] = {key: _mean([image["sharpness"][key] for image in images]) for key in SHARPNESS_KEYS}
    row["images"] = images
    return row


def _finite(value):
    """JSON has no inf or NaN (an exact restoration has infinite PSNR): write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _write(metrics: dict, out: Path, crops: list[dict], force: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if force:  # only our own files: --out may be a folder that holds other things
        for stale in OUTPUTS:
            (out / stale).unlink(missing_ok=True)
    (out / JSON_NAME).write_text(json.dumps(_finite(metrics), indent=1) + "\n")
    fields = ["model", "quality", "n_images", *METRIC_KEYS, *SHARPNESS_KEYS]
    with open(out / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        for row in _finite(metrics["rows"]):
            values = {**{k: row[k] for k in fields[: 3 + len(METRIC_KEYS)]}, **row["sharpness"]}
            writer.writerow({k: "" if v is None else v for k, v in values.items()})
    write_report(metrics, out, crops)
    log.info("report written to %s", out / "index.html")


def parse_models(specs: list[str]) -> dict[str, str]:
    """['NAME=SOURCE', …] -> {NAME: SOURCE}; names unique."""
    models = {}
    for spec in specs:
        name, sep, source = spec.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise ValueError(f"--model expects NAME=SOURCE (e.g. gan=shipped:gan), got {spec!r}")
        if name.strip() in models:
            raise ValueError(f"--model name {name.strip()!r} given twice")
        models[name.strip()] = source.strip()
    return models


def parse_qualities(text: str) -> list[int]:
    """'10,20,30' -> [10, 20, 30] (sorted, unique), each in [1, 100]."""
    try:
        qualities = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"--quality expects a comma-separated list like 10,20,30,40, got {text!r}") from None
    if not qualities or not all(1 <= q <= 100 for q in qualities):
        raise ValueError(f"--quality values must be in [1, 100], got {text!r}")
    return qualities


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=SOURCE",
        help="a model to compare (repeatable): shipped:l2, shipped:gan, a run folder, .keras, .onnx, .tflite",
    )
    parser.add_argument("--data", required=True, help="an image or a folder of images (searched recursively)")
    parser.add_argument("--quality", default="10,20,30,40", help="JPEG qualities (default 10,20,30,40)")
    parser.add_argument("--out", required=True, help="report folder, e.g. report/")
    parser.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    parser.add_argument("--tile", type=int, default=512, help="tile side in px for restoration (default 512)")
    parser.add_argument("--overlap", type=int, default=32, help="context px around each tile (default 32)")
    parser.add_argument(
        "--self-ensemble",
        action="store_true",
        help="restore with every model as `unjpeg restore --self-ensemble`",
    )
    parser.add_argument("--precision", choices=CHOICES, default="auto", help=PRECISION_HELP)


def run(args: argparse.Namespace) -> int:
    """Run `unjpeg compare`; print the table. Errors propagate as one-line ValueError / OSError."""
    metrics = compare(
        parse_models(args.model),
        args.data,
        parse_qualities(args.quality),
        Path(args.out),
        tile=args.tile,
        overlap=args.overlap,
        force=args.force,
        self_ensemble=args.self_ensemble,
        precision=args.precision,
    )
    sys.stdout.write(format_table(metrics) + f"\nreport: {Path(args.out) / 'index.html'}\n")
    return 0
