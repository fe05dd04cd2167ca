"""`unjpeg restore`: remove JPEG artifacts from photos at full resolution, writing faithful files.

    unjpeg restore INPUT... -o OUTDIR [--model SOURCE] [--strength S] [--tile 512] [--overlap 32]
                   [--force] [--format png|jpeg] [--jpeg-quality 95]

Each INPUT is a file or a folder (searched recursively); `photo.jpg` becomes `OUTDIR/photo.png`, and a file
found in a folder keeps its sub-folder below OUTDIR. The photo is restored in tiles (`gan.tiling`), so memory
is bounded by the tile, not the photo. What the file carries survives: EXIF orientation is applied to the
pixels (and the tag reset to 1), the ICC profile and EXIF are copied, grayscale stays grayscale and alpha
passes through unchanged.

Refused inputs, each reported on one line while the other files go on:
- 16-bit images. JPEG artifacts come from 8-bit JPEG decodes, so a 16-bit file has been through some
  other processing, and the output could not keep its 16 bits (Pillow writes no 16-bit RGB PNG, and reads
  one as 8-bit without saying so): restoring it would quietly lose precision. Convert it to 8-bit first
  if it came from a JPEG.
- CMYK JPEGs. They come from print workflows, their colours are defined by a CMYK ICC profile that a
  plain CMYK→RGB conversion ignores (and Adobe files are often stored inverted), and that profile cannot
  be copied onto an RGB output. Convert them to RGB with a colour-managed tool first.
- Files no reader accepts (0 bytes, truncated, not an image), images under 8×8 px, decompression bombs.

Never overwritten: any input, and an existing output unless `--force`. Outputs are written to a temporary
file in their folder and renamed into place, so a crash leaves no half-written image.

Only NumPy, Pillow and tqdm are imported here at start; the model's runtime (ONNX Runtime, TensorFlow or
Keras) is imported by `gan.sources` for the SOURCE given, so an `.onnx` model restores without TensorFlow.
"""

from __future__ import annotations

import argparse
import logging
import os
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unjpeg.baselines.precision import CHOICES, PRECISION_HELP

log = logging.getLogger(__name__)

SUFFIXES = {"png": ".png", "jpeg": ".jpg"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ORIENTATION = 0x0112  # EXIF tag; the pixels are written upright, so it is reset to 1 ("normal")


class RestoreError(ValueError):
    """An input that is refused or an output that cannot be written, with a one-line reason."""


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
    parser.add_argument("--tile", type=int, default=512, help="tile side in px (default 512)")
    parser.add_argument("--overlap", type=int, default=32, help="context around each tile in px (default 32)")
    parser.add_argument(
        "--self-ensemble",
        action="store_true",
        help="average the restorations of the 8 rotations and mirror images: 8× slower, slightly higher PSNR",
    )
    parser.add_argument("--precision", choices=CHOICES, default="auto", help=PRECISION_HELP)
    parser.add_argument("--force", action="store_true", help="replace existing outputs")
    parser.add_argument("--format", choices=sorted(SUFFIXES), default="png", help="output format (png)")
    parser.add_argument("--jpeg-quality", type=int, default=95, help="quality of --format jpeg (95)")


def run(args: argparse.Namespace) -> int:
    """Restore every input; returns 0 if all were written, 1 if any failed, 2 if nothing could start."""
    from tqdm import tqdm

    from unjpeg.data.images import ImageError
    from unjpeg.sources import load_restorer

    if not 1 <= args.jpeg_quality <= 100:
        raise RestoreError(f"--jpeg-quality must be in [1, 100], got {args.jpeg_quality}")
    out = Path(args.out)
    try:
        check_writable(out)
    except OSError as err:
        sys.stderr.write(f"error: {out}: output folder is not writable ({err.strerror or err})\n")
        return 2
    jobs, errors = plan(args.inputs, out, SUFFIXES[args.format], args.force)
    for message in errors:
        sys.stderr.write(f"error: {message}\n")
    written, failed = 0, len(errors)
    if jobs:
        # SourceError: main() prints it, exit 2
        restorer = load_restorer(args.model, args.strength, args.precision)
        for job in tqdm(jobs, unit="image", disable=None, file=sys.stderr):
            try:
                restore_file(restorer, job, args)
                written += 1
            except (ImageError, RestoreError) as err:
                tqdm.write(f"error: {err}", file=sys.stderr)
                failed += 1
    sys.stdout.write(f"restored {written} image(s) into {out}, {failed} failed\n")
    return 1 if failed else 0


def check_writable(out: Path) -> None:
    """Create OUTDIR if needed and write a probe file, so a bad -o fails before the model loads."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass


def plan(inputs: list[str], out: Path, suffix: str, force: bool) -> tuple[list[Job], list[str]]:
    """Pair each input image with its output path; refusals come back as one-line messages."""
    from unjpeg.data.images import list_images

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


def restore_file(restorer, job: Job, args: argparse.Namespace) -> None:
    """Read, check, restore and write one image (see the module docstring for what is kept)."""
    from unjpeg.data.images import read_image, to_pil
    from unjpeg.tiling import restore_image

    image = read_image(job.source, keep_alpha=True)
    refuse_unsupported(job.source, image.bit_depth)
    if image.alpha is not None and args.format == "jpeg":
        raise RestoreError(f"{job.source}: has an alpha channel, which JPEG cannot store; use --format png")
    restored = restore_image(
        restorer,
        image.pixels,
        tile=args.tile,
        overlap=args.overlap,
        fixed_size=restorer.fixed_size,
        self_ensemble=args.self_ensemble,
    )
    del image.pixels  # the input copy is no longer needed; keeps peak memory to about two photos
    pil = to_pil(to_uint8_inplace(restored), image.alpha)
    options = {k: v for k, v in image.info.items() if k == "icc_profile"}
    if "exif" in image.info:
        options["exif"] = exif_upright(image.info["exif"], job.source)
    if args.format == "jpeg":
        # 4:4:4: the restored colour edges are not subsampled again.
        options.update(quality=args.jpeg_quality, subsampling=0)
    write_atomic(pil, job.target, "JPEG" if args.format == "jpeg" else "PNG", options)


def refuse_unsupported(path: Path, bit_depth: int) -> None:
    """Raise RestoreError for 16-bit images and CMYK JPEGs (reasons in the module docstring)."""
    from PIL import Image

    with open(path, "rb") as handle:
        header = handle.read(25)
    # Pillow reads a 16-bit RGB PNG as 8-bit RGB, so its IHDR bit depth (byte 24) is checked directly.
    png16 = header[:8] == PNG_SIGNATURE and header[12:16] == b"IHDR" and header[24] == 16
    if bit_depth == 16 or png16:
        raise RestoreError(
            f"{path}: 16-bit images are not supported (JPEG artifacts only exist in 8-bit JPEGs; "
            "convert it to 8-bit first if it came from a JPEG)"
        )
    with Image.open(path) as opened:
        if opened.mode == "CMYK":
            raise RestoreError(
                f"{path}: CMYK images are not supported (convert to RGB with its colour profile first)"
            )


def to_uint8_inplace(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 in [0, 1] to uint8, rounding to nearest, scaling in place to spare a float64 copy."""
    np.multiply(image, 255.0, out=image)
    np.rint(image, out=image)
    return image.astype(np.uint8)


def exif_upright(data: bytes, path: Path) -> bytes:
    """EXIF bytes with the Orientation tag of IFD0 set to 1, patched in place so nothing else moves.

    Rewriting EXIF through a parser would move maker notes, whose offsets are absolute; a 2-byte patch
    cannot. EXIF that cannot be parsed is dropped with a warning, since a stale orientation would make
    viewers rotate the already upright pixels a second time.
    """
    start = 6 if data.startswith(b"Exif\x00\x00") else 0
    order = {b"II": "<", b"MM": ">"}.get(data[start : start + 2])
    try:
        if order is None:
            raise struct.error("no TIFF byte order mark")
        (ifd,) = struct.unpack_from(order + "I", data, start + 4)
        (count,) = struct.unpack_from(order + "H", data, start + ifd)
        for i in range(count):
            entry = start + ifd + 2 + 12 * i
            tag, kind, number = struct.unpack_from(order + "HHI", data, entry)
            if tag == ORIENTATION and kind == 3 and number == 1:  # one SHORT, stored in the entry
                patched = bytearray(data)
                struct.pack_into(order + "H", patched, entry + 8, 1)
                return bytes(patched)
    except struct.error as err:
        log.warning("%s: EXIF dropped, cannot be parsed (%s)", path, err)
        return b""
    return data


def write_atomic(pil, target: Path, image_format: str, options: dict) -> None:
    """Save `pil` to a temporary file beside `target`, then rename it into place (POSIX rename is atomic)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as err:
        raise RestoreError(f"{target}: cannot write ({err.strerror or err})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            pil.save(stream, format=image_format, **options)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(temp, target)
    except OSError as err:
        raise RestoreError(f"{target}: cannot write ({err.strerror or err})") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
