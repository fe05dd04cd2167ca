"""`unjpeg restore`: remove JPEG artifacts from photos at full resolution, writing faithful files.

    unjpeg restore INPUT... -o OUTDIR [--model SOURCE] [--strength S] [--tile 512] [--overlap 32]
                   [--precision auto] [--no-consistency] [--force] [--format png|jpeg] [--jpeg-quality 95]
                   [--max-pixels N]

Each INPUT is a file or a folder (searched recursively); `photo.jpg` becomes `OUTDIR/photo.png`, and a file
found in a folder keeps its sub-folder below OUTDIR. The photo is restored in tiles (`unjpeg.tiling`), so memory
is bounded by the tile, not the photo; a photo that takes more than a few seconds shows a bar over its tiles,
a folder a bar over its files (on a terminal only). This module is the command line over `unjpeg.files`
(one file) and `unjpeg.sources` (the model). What the file carries survives: EXIF orientation is applied to the
pixels (and the tag reset to 1), the ICC profile and EXIF are copied, grayscale stays grayscale and alpha
passes through unchanged.
The output of a JPEG input is made consistent with the file: every DCT coefficient is kept inside its
quantization interval (`unjpeg.data.consistency`), unless `--no-consistency`. A model conditioned on the
quantization tables (`unjpeg train --conditioned`) restores a JPEG input with the file's own tables and any
other input blind; one line per file says which (`unjpeg.files.file_tables`).

Refused inputs, each reported on one line while the other files go on:
- 16-bit images. JPEG artifacts come from 8-bit JPEG decodes, so a 16-bit file has been through some
  other processing, and the output could not keep its 16 bits (Pillow writes no 16-bit RGB PNG, and reads
  one as 8-bit without saying so): restoring it would quietly lose precision. Convert it to 8-bit first
  if it came from a JPEG.
- CMYK JPEGs. They come from print workflows, their colours are defined by a CMYK ICC profile that a
  plain CMYK→RGB conversion ignores (and Adobe files are often stored inverted), and that profile cannot
  be copied onto an RGB output. Convert them to RGB with a colour-managed tool first.
- Files no reader accepts (0 bytes, truncated, not an image), images under 8×8 px, decompression bombs
  (over `--max-pixels`, by default Pillow's 89.5 MP limit; raise it for a photo that is really that large).

Never overwritten: any input, and an existing output unless `--force`. Outputs are written to a temporary
file in their folder and renamed into place, so a crash leaves no half-written image.

Only NumPy, Pillow and tqdm are imported here at start; the model's runtime (ONNX Runtime, TensorFlow or
Keras) is imported by `unjpeg.sources` for the SOURCE given, so an `.onnx` model restores without TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from unjpeg.baselines.precision import CHOICES, PRECISION_HELP
from unjpeg.data.images import ImageError, list_images
from unjpeg.files import (
    FORMATS,
    PNG_COMPRESS_LEVEL,
    FileOptions,
    RestoreError,
    restore_to_image,
    write_restored,
)
from unjpeg.sources import load_restorer
from unjpeg.tiling import OVERLAP, TILE, TilingOptions

__all__ = ["RestoreError", "add_arguments", "run", "plan", "options_from"]


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders (recursive)")
    parser.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="folder for the outputs")
    parser.add_argument(
        "--model",
        default="shipped:gan",
        metavar="SOURCE",
        help="shipped:NAME, run folder, .keras, .onnx, .tflite or SavedModel folder (default shipped:gan)",
    )
    parser.add_argument(
        "--strength",
        type=float,
        metavar="S",
        help="blend L2 (0) into GAN (1) weights, network interpolation; needs a GAN run or shipped:gan",
    )
    parser.add_argument("--tile", type=int, default=TILE, help=f"tile side in px (default {TILE})")
    parser.add_argument(
        "--overlap", type=int, default=OVERLAP, help=f"context around each tile in px (default {OVERLAP})"
    )
    parser.add_argument(
        "--self-ensemble",
        action="store_true",
        help="average the restorations of the 8 rotations and mirror images: 8× slower, slightly higher PSNR",
    )
    parser.add_argument("--precision", choices=CHOICES, default="auto", help=PRECISION_HELP)
    parser.add_argument(
        "--no-consistency",
        dest="consistency",
        action="store_false",
        help="do not project a JPEG input's output onto the file's quantization intervals (on by default)",
    )
    parser.add_argument("--force", action="store_true", help="replace existing outputs")
    parser.add_argument("--format", choices=sorted(FORMATS), default="png", help="output format (png)")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="quality of --format jpeg (95)")
    parser.add_argument(
        "--png-compress-level",
        type=int,
        default=PNG_COMPRESS_LEVEL,
        metavar="0-9",
        help=f"zlib level of --format png (default {PNG_COMPRESS_LEVEL}: fast, same pixels as any level)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        metavar="N",
        help="refuse images of more than N pixels (default: Pillow's decompression-bomb limit, 89.5 MP)",
    )


def options_from(args: argparse.Namespace) -> FileOptions:
    """The per-file options of `unjpeg restore` from its parsed command line (RestoreError if invalid)."""
    tiling = TilingOptions(tile=args.tile, overlap=args.overlap, self_ensemble=args.self_ensemble)
    return FileOptions(
        tiling=tiling,
        format=args.format,
        jpeg_quality=args.jpeg_quality,
        png_compress_level=args.png_compress_level,
        max_pixels=args.max_pixels,
        consistency=args.consistency,
    )


def run(args: argparse.Namespace) -> int:
    """Restore every input; returns 0 if all were written, 1 if any failed, 2 if nothing could start."""

    options = options_from(args)
    out = Path(args.out)
    try:
        check_writable(out)
    except OSError as err:
        sys.stderr.write(f"error: {out}: output folder is not writable ({err.strerror or err})\n")
        return 2
    jobs, errors = plan(args.inputs, out, FORMATS[args.format], args.force)
    for message in errors:
        sys.stderr.write(f"error: {message}\n")
    written, failed = 0, len(errors)
    if jobs:
        # SourceError: main() prints it, exit 2
        restorer = load_restorer(args.model, args.strength, args.precision)
        # One writer thread: photo i is encoded and written while photo i + 1 is restored (Pillow's
        # encoder and TensorFlow both release the GIL).
        with ThreadPoolExecutor(max_workers=1) as writer:
            pending = []
            for job in tqdm(jobs, unit="image", disable=None, file=sys.stderr):
                try:
                    restored = restore_to_image(restorer, job.source, options, progress=True)
                except (ImageError, RestoreError) as err:
                    tqdm.write(f"error: {err}", file=sys.stderr)
                    failed += 1
                    continue
                ok, bad = finish(pending)
                written, failed = written + ok, failed + bad
                pending = [writer.submit(write_restored, restored, job.target)]
                del restored
            ok, bad = finish(pending)
            written, failed = written + ok, failed + bad
    sys.stdout.write(f"restored {written} image(s) into {out}, {failed} failed\n")
    return 1 if failed else 0


def finish(pending: list) -> tuple[int, int]:
    """Wait for the pending writes; (written, failed), each failure reported on one line."""

    written = failed = 0
    for future in pending:
        try:
            future.result()
            written += 1
        except RestoreError as err:
            tqdm.write(f"error: {err}", file=sys.stderr)
            failed += 1
    return written, failed


def check_writable(out: Path) -> None:
    """Create OUTDIR if needed and write a probe file, so a bad -o fails before the model loads."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass


def plan(inputs: list[str], out: Path, suffix: str, force: bool) -> tuple[list[Job], list[str]]:
    """Pair each input image with its output path; refusals come back as one-line messages."""

    found: dict[Path, Job] = {}  # by resolved input path, so a file named twice is restored once
    errors = []
    for item in inputs:
        root = Path(item)
        try:
            paths = list_images(root)
        except FileNotFoundError as err:
            errors.append(str(err))
            continue
        # OUTDIR inside an input folder: skip what an earlier run wrote there.
        nested = root.is_dir() and root.resolve() in out.resolve().parents
        for path in paths:
            if root.is_dir():
                if nested and out.resolve() in path.resolve().parents:
                    continue
                target = out / path.relative_to(root).with_suffix(suffix)
            else:
                target = out / Path(path.name).with_suffix(suffix)
            found.setdefault(path.resolve(), Job(path, target))
    jobs, claimed = [], {}
    for job in found.values():
        target = job.target.resolve()
        if target in found:
            errors.append(f"{job.source}: output {job.target} would overwrite an input; choose another -o")
        elif target in claimed:
            errors.append(f"{job.source}: output {job.target} is already the output of {claimed[target]}")
        elif job.target.exists() and not force:
            errors.append(f"{job.source}: output {job.target} exists (use --force to replace it)")
        else:
            claimed[target] = job.source
            jobs.append(job)
    return jobs, errors
