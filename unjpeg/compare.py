"""`unjpeg compare`: score models against plain JPEG on a folder of photos, under the JPEG conditions users meet,
and write a report.

Protocol of KAIR / FBCNN / SwinIR, widened to real files: each image is compressed with Pillow under each
condition of unjpeg.compare_conditions (quality 1-100; 4:2:0, 4:2:2 or 4:4:4 chroma, grayscale kept
single-channel; optionally after an earlier compression on a shifted grid); every model restores the decoded
JPEG, (H, W, C) float32 in [0, 1], at full resolution in tiles (unjpeg.tiling), with or without the
JPEG-consistency projection; the output is rounded to 8 bits, as saving a PNG would, and scored on the whole
image against the original (unjpeg.compare_scores). The plain JPEG is always the row named `jpeg`.

Writes metrics.json, metrics.csv, and (through unjpeg.report) report.md, figures and index.html.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from unjpeg.baselines.precision import CHOICES, PRECISION_HELP
from unjpeg.compare_conditions import (
    Condition,
    conditions,
    parse_consistency,
    parse_double,
    parse_qualities,
    parse_subsamplings,
)
from unjpeg.compare_restore import RestoreSetup, load, load_lpips, projection, read_original, restore_all
from unjpeg.compare_scores import JPEG_ROW, crop, make_row, score, write_metrics
from unjpeg.data.images import list_images
from unjpeg.report import JSON_NAME, OUTPUTS, format_table, write_report
from unjpeg.report_columns import row_label

__all__ = ["CompareOptions", "compare", "format_table", "add_arguments", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompareOptions:
    """What `compare` measures and how it restores. `double`: (shift (dy, dx), first quality or None for the
    final one), see compare_conditions.parse_double. `consistency`: restore without (False) and/or with (True)
    the JPEG-consistency projection. `limit`: only the first N images (sorted by path)."""

    subsamplings: tuple[str, ...] = ("4:2:0",)
    double: tuple[tuple[int, int], int | None] | None = None
    consistency: tuple[bool, ...] = (False,)
    tile: int = 512
    overlap: int = 32
    self_ensemble: bool = False
    limit: int | None = None


@dataclass
class Measured:
    """Per-image scores keyed by (model, consistency, condition), skipped images and the figure's crops."""

    per_image: dict[tuple[str, bool | None, Condition], list[dict]] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    crops: list[dict] = field(default_factory=list)


def compare(
    models: dict[str, str],
    data: str | Path,
    qualities: list[int],
    out: str | Path,
    options: CompareOptions | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    precision: str = "float32",
) -> dict:
    """Score `models` ({name: SOURCE for unjpeg.sources.load_restorer}) and plain JPEG on the images under `data`.

    Everything that can fail on bad input (out folder, qualities, images, model sources, the consistency
    projection) is checked before any image is restored; errors are ValueError / FileNotFoundError with a
    one-line message. Unreadable images are skipped and listed. Returns the dict written to `out/metrics.json`.
    """

    options = options or CompareOptions()
    out = Path(out)
    _check(models, qualities, out, force)
    project = projection() if True in options.consistency else None
    paths = list_images(data)[: options.limit]
    restorers = {name: load(name, source, precision) for name, source in models.items()}
    root = Path(data)
    names = [p.relative_to(root).as_posix() if root.is_dir() else p.name for p in paths]
    grid = conditions(qualities, options.subsamplings, options.double)
    setup = RestoreSetup(options.tile, options.overlap, options.self_ensemble, options.consistency, project)
    run = _Run(restorers, options, setup, load_lpips())
    measured = _measure(paths, names, grid, run, progress)
    if not measured.per_image:
        raise ValueError(f"{data}: no readable images ({len(measured.skipped)} skipped)")
    rows = []
    for condition in grid:
        jpeg = measured.per_image[JPEG_ROW, None, condition]
        rows += [make_row(m, c, condition, measured.per_image[m, c, condition], jpeg) for m, c in run.row_ids]
    metrics = {
        "data": str(data),
        "qualities": list(qualities),
        "subsamplings": list(options.subsamplings),
        "double": _double_flag(options.double),
        "consistency": list(options.consistency),
        "models": {JPEG_ROW: "input (Pillow JPEG; grayscale single-channel)", **models},
        "self_ensemble": options.self_ensemble,
        "precision": {name: restorer.precision.describe() for name, restorer in restorers.items()},
        "rows": rows,
        "skipped": measured.skipped,
    }
    _write(metrics, out, sorted(measured.crops, key=lambda c: -c["score"])[:3], force)
    return metrics


@dataclass(frozen=True)
class _Run:
    """What every image is restored and scored with."""

    restorers: dict
    options: CompareOptions
    setup: RestoreSetup
    lpips: object

    @property
    def row_ids(self) -> list[tuple[str, bool | None]]:
        """(model, consistency) of every row, in table order: the JPEG first."""
        return [(JPEG_ROW, None), *((m, c) for m in self.restorers for c in self.options.consistency)]


def _double_flag(double: tuple[tuple[int, int], int | None] | None) -> str | None:
    """--double as given: 'DY,DX', or 'DY,DX@Q1' with a fixed first quality; None without it."""
    if double is None:
        return None
    (dy, dx), first = double
    return f"{dy},{dx}" + (f"@{first}" if first else "")


def _measure(
    paths: list[Path], names: list[str], grid: list[Condition], run: _Run, progress: bool
) -> Measured:
    """Restore and score every image under every condition."""

    measured = Measured()
    n_rows = len(run.row_ids)
    bar = tqdm(total=len(paths) * len(grid) * n_rows, desc="compare", unit="img", disable=not progress)
    for path, name in zip(paths, names, strict=True):
        bar.set_postfix_str(name)
        original, reason = read_original(path)
        if original is None:
            measured.skipped.append({"name": name, "reason": reason})
            bar.update(len(grid) * n_rows)
            continue
        for condition in grid:
            restored = restore_all(original, condition, run.restorers, run.setup)
            for (model, consistency), image in restored.outputs.items():
                scores = {"name": name, **score(restored.reference, image, run.lpips)}
                measured.per_image.setdefault((model, consistency, condition), []).append(scores)
                bar.update(1)
            if condition == grid[0]:
                labelled = {row_label(m, c): image for (m, c), image in restored.outputs.items()}
                measured.crops.append(crop(name, condition, labelled, restored.reference))
    bar.close()
    return measured


def _check(models: dict[str, str], qualities: list[int], out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise FileExistsError(f"{out}: exists and is not empty (use --force to overwrite)")
    if not qualities or any(int(q) != q or not 1 <= q <= 100 for q in qualities):
        raise ValueError(f"qualities must be integers in [1, 100], got {qualities}")
    bad = [n for n in models if not n or n == JPEG_ROW or "=" in n or "+" in n]
    if bad:
        raise ValueError(
            f"model name {bad[0]!r} is not allowed (names must be non-empty, without = or +, and not {JPEG_ROW!r})"
        )


def _write(metrics: dict, out: Path, crops: list[dict], force: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if force:  # only our own files: --out may be a folder that holds other things
        for stale in OUTPUTS:
            (out / stale).unlink(missing_ok=True)
    write_metrics(metrics, out / JSON_NAME, out / "metrics.csv")
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=SOURCE",
        help="a model to compare (repeatable): shipped:l2, shipped:gan, a run folder, .keras, .onnx, .tflite",
    )
    parser.add_argument("--data", required=True, help="an image or a folder of images (searched recursively)")
    parser.add_argument(
        "--quality", default="10,20,30,40", help="JPEG qualities, 1-100 (default 10,20,30,40)"
    )
    parser.add_argument(
        "--subsampling",
        default="420",
        metavar="420,422,444",
        help="chroma subsamplings among 420,422,444 (default 420)",
    )
    parser.add_argument(
        "--double",
        metavar="DY,DX[@Q1]",
        help="also measure double JPEG: first at Q1 (default: the same quality), then cropped DY,DX px so the "
        "grid shifts, then at each --quality",
    )
    parser.add_argument(
        "--consistency",
        default="off",
        metavar="on|off|on,off",
        help="restore without (off) and/or with (on) the JPEG-consistency projection (default off)",
    )
    parser.add_argument("--limit", type=int, help="only the first N images (sorted by path)")
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


def options_from(args: argparse.Namespace) -> CompareOptions:
    """The CompareOptions of parsed `unjpeg compare` flags; one-line ValueError for a bad value."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    return CompareOptions(
        subsamplings=parse_subsamplings(args.subsampling),
        double=parse_double(args.double) if args.double else None,
        consistency=parse_consistency(args.consistency),
        tile=args.tile,
        overlap=args.overlap,
        self_ensemble=args.self_ensemble,
        limit=args.limit,
    )


def run(args: argparse.Namespace) -> int:
    """Run `unjpeg compare`; print the table. Errors propagate as one-line ValueError / OSError."""
    models, qualities, options = parse_models(args.model), parse_qualities(args.quality), options_from(args)
    metrics = compare(
        models, args.data, qualities, Path(args.out), options, force=args.force, precision=args.precision
    )
    sys.stdout.write(format_table(metrics) + f"\nreport: {Path(args.out) / 'index.html'}\n")
    return 0
