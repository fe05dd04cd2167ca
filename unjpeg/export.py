"""`unjpeg export`: write a generator as .keras, SavedModel, TFLite or ONNX, checked against Keras.

    unjpeg export SOURCE --format {keras,savedmodel,tflite,onnx} -o PATH [--force]

SOURCE is a Keras generator as `unjpeg.sources` resolves it (shipped:NAME, run folder, .keras); a GAN run
folder's `generator.keras` already holds the EMA weights. Only the generator is exported, in float32, with
input (B, H, W, 3) float32 in [0, 1] of dynamic B, H and W (B × 32 × 32 × 3 for autoencoder-fc), output the
same shape, unclipped. A generator conditioned on the quantization tables keeps its second input, "tables"
(B, 128) float32 in [0, 1], in every format.

Every export is staged beside PATH, reloaded through `unjpeg.sources.load_restorer` (the loader that
`unjpeg restore --model` uses) and compared with the Keras model on non-square images (a conditioned one with random tables, a different
vector for each image of the batch); it is moved into
place only if the largest absolute difference is under 1e-4.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from unjpeg.sources import TABLES, keras_path, load_keras_generator, load_restorer

SUFFIXES = {"keras": ".keras", "savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}
TOLERANCE = 1e-4  # float32 re-ordering of the same convolutions stays near 1e-6; 1e-4 flags a real change
CHECK_SHAPES = ((2, 72, 104), (1, 37, 53))  # non-square, batch > 1, and a size off the 8-px grid


class ExportError(ValueError):
    """An export that cannot be written or does not match the Keras model, with a one-line reason."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="shipped:NAME, run folder or .keras generator")
    parser.add_argument("--format", required=True, choices=sorted(SUFFIXES), help="export format")
    parser.add_argument("-o", "--out", required=True, metavar="PATH", help="file (folder for savedmodel)")
    parser.add_argument("--force", action="store_true", help="replace an existing PATH")


def run(args: argparse.Namespace) -> int:

    target = Path(args.out)
    suffix = SUFFIXES[args.format]
    if suffix and target.suffix != suffix:
        raise ExportError(f"{target}: --format {args.format} needs a path ending in {suffix}")
    if args.format == "savedmodel" and target.suffix in (".keras", ".onnx", ".tflite"):
        raise ExportError(f"{target}: a SavedModel is a folder; give a path without {target.suffix}")
    path = keras_path(args.source)
    if path is None:
        raise ExportError(f"{args.source}: export needs a Keras generator (shipped:NAME, run folder, .keras)")
    if target.exists() and not args.force:
        raise ExportError(f"{target}: exists (use --force to replace it)")
    if target.resolve() == path.resolve():
        raise ExportError(f"{target}: is the SOURCE itself; choose another -o")
    model = load_keras_generator(path)
    diff = export_checked(model, args.format, target)
    files = target.rglob("*") if target.is_dir() else [target]
    size = sum(p.stat().st_size for p in files if p.is_file())
    sys.stdout.write(
        f"exported {target} ({args.format}, {size / 2**20:.1f} MiB), max |export - keras| {diff:.1e}\n"
    )
    return 0


def export_checked(model, export_format: str, target: Path) -> float:
    """Export `model` to `target` (replacing it) after checking parity; returns the max abs difference."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.export-"))
    try:
        staged = staging / target.name
        export_model(model, export_format, staged)
        diff = parity(model, staged)
        if not diff < TOLERANCE:
            raise ExportError(
                f"{target}: the {export_format} export differs from the Keras model by {diff:.3g} "
                f"(max abs, tolerance {TOLERANCE:g}); nothing written"
            )
        if target.is_dir():
            shutil.rmtree(target)
        elif staged.is_dir() and target.exists():
            target.unlink()
        staged.replace(target)  # a file is replaced atomically; a folder as soon as the old one is gone
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return diff


def export_model(model, export_format: str, path: Path) -> None:
    """Write `model` to `path` as `export_format` (a key of SUFFIXES), without any check."""
    fixed = input_size(model)
    side = fixed or 64
    blank = model_inputs(model, np.zeros((1, side, side, 3), np.float32), np.zeros((1, TABLES), np.float32))
    model(blank, training=False)  # exporters need a built, called model
    if export_format == "keras":
        model.save(path)
    elif export_format == "savedmodel":
        model.export(str(path), format="tf_saved_model", verbose=False)
    elif export_format == "onnx":
        _export_onnx(model, path)
    elif export_format == "tflite":
        _export_tflite(model, path)
    else:
        raise ExportError(f"unknown export format {export_format!r}; choose from {', '.join(SUFFIXES)}")


def parity(model, path: Path) -> float:
    """Max abs difference between `model` and its export at `path`, on fixed random non-square images."""

    restorer = load_restorer(str(path))
    if restorer.conditioned != conditioned(model):
        raise ExportError(f"{path}: the export {'has' if restorer.conditioned else 'lost'} the tables input")
    fixed = input_size(model)
    shapes = ((2, fixed, fixed),) if fixed else CHECK_SHAPES
    rng = np.random.default_rng(0)
    diff = 0.0
    for batch, height, width in shapes:
        images = rng.random((batch, height, width, 3), dtype=np.float32)
        tables = rng.random((batch, TABLES), dtype=np.float32)
        expected = np.asarray(model(model_inputs(model, images, tables), training=False))
        arguments = (images, tables) if restorer.conditioned else (images,)
        got = np.asarray(restorer.fn(*arguments))  # unclipped, as the model
        if got.shape != expected.shape or got.dtype != np.float32:
            raise ExportError(f"{path}: export gives {got.dtype} {got.shape}, Keras float32 {expected.shape}")
        diff = max(diff, float(np.max(np.abs(got - expected))))
    return diff


def input_size(model) -> int | None:
    """The fixed square input side (32 for autoencoder-fc), or None for a fully convolutional model."""
    return model.inputs[0].shape[1]


def conditioned(model) -> bool:
    """Whether `model` takes the quantization tables as a second input, named "tables"."""
    from unjpeg.baselines.conditioning import is_conditioned  # imports Keras, as `model` did

    return is_conditioned(model)


def model_inputs(model, images: np.ndarray, tables: np.ndarray):
    """What `model` is called with: `images`, and for a conditioned model `tables` too, in its input order."""
    if not conditioned(model):
        return images
    return [tables if tensor.name == "tables" else images for tensor in model.inputs]


def _export_onnx(model, path: Path) -> None:
    """Keras 3's ONNX export (through tf2onnx), on a model that has been called once."""
    try:
        import onnxruntime  # noqa: F401 - needed to check the export
        import tf2onnx  # noqa: F401
    except ImportError as err:
        raise ExportError(
            f"ONNX export needs tf2onnx and onnxruntime: pip install 'unjpeg[export]' ({err})"
        ) from None
    model.export(str(path), format="onnx", verbose=False)


def _export_tflite(model, path: Path) -> None:
    """Convert through a SavedModel (which freezes the variables) with only built-in TFLite ops."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        model.export(folder, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        try:
            path.write_bytes(converter.convert())
        except Exception as err:  # noqa: BLE001 - the converter raises its own error types
            raise ExportError(f"{path}: TFLite conversion failed: {str(err).splitlines()[0]}") from None
