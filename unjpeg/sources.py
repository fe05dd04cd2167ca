"""Resolve a model SOURCE into a restore function, for `unjpeg compare` and `unjpeg restore`.

A SOURCE is one of:
- `shipped:NAME`: a generator shipped in `unjpeg/shipped/NAME.keras` (`shipped:l2`, `shipped:gan`);
- a run folder (holds `config.json`): its `generator.keras`;
- a `.keras` file;
- a SavedModel folder (holds `saved_model.pb`), run through TensorFlow without the training code;
- a `.onnx` file, run through ONNX Runtime without TensorFlow;
- a `.tflite` file, run through the TFLite interpreter.

Every restorer maps (B, H, W, 3) float32 in [0, 1] to (B, H, W, 3) float32 clipped to [0, 1]. A generator
conditioned on the JPEG file's quantization tables (`baselines.conditioning`, an input of shape (B, 128))
is `conditioned`: it also takes the (128,) vector of `data.jpeg.normalise_tables`, the same for every image
of the batch, and runs blind (all zeros) without one. In every format its tables input is the rank-2 one.

`precision` ("auto", "float32", "bfloat16"; `baselines.precision`) applies to Keras generators, which are
copied to compute under `mixed_bfloat16` when it resolves to bfloat16; the other formats run the exported
float32 graph. The loader logs one line naming the precision that runs and why.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unjpeg.baselines.precision import (
    CHOICES,
    FLOAT32,
    Precision,
    choose_precision,
    gpu_available,
    with_precision,
)
from unjpeg.data.jpeg import TABLE_SIZE
from unjpeg.interpolation import interpolate

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "shipped"
TABLES = 2 * TABLE_SIZE  # the conditioning vector: luma then chroma steps, `data.jpeg.normalise_tables`


class SourceError(ValueError):
    """A model SOURCE that cannot be found or loaded, with a one-line reason."""


@dataclass
class Restorer:
    """A loaded model: `fn` restores (B, H, W, 3) float32 in [0, 1], and when `conditioned` also takes the
    tables, (B, 128) float32; `fixed_size` is 32 for autoencoder-fc; `precision` is what its calls compute in.
    """

    name: str
    fn: Callable[..., np.ndarray]
    fixed_size: int | None = None
    precision: Precision = FLOAT32
    conditioned: bool = False

    def __call__(self, batch: np.ndarray, tables: np.ndarray | None = None) -> np.ndarray:
        """Restore `batch`, a conditioned model with `tables` ((128,) float32, None: blind); an
        unconditioned model ignores `tables`."""
        batch = np.asarray(batch, np.float32)
        output = self.fn(batch, tables_batch(tables, len(batch))) if self.conditioned else self.fn(batch)
        return np.clip(np.asarray(output, np.float32), 0.0, 1.0)


def tables_batch(tables: np.ndarray | None, size: int) -> np.ndarray:
    """The (128,) conditioning vector `tables` (None: blind, all zeros) repeated for a batch: (size, 128)."""
    vector = np.zeros(TABLES, np.float32) if tables is None else np.asarray(tables, np.float32)
    if vector.shape != (TABLES,):
        raise ValueError(
            f"tables must be a ({TABLES},) vector (data.jpeg.normalise_tables), got {vector.shape}"
        )
    return np.ascontiguousarray(np.broadcast_to(vector, (size, TABLES)))


def shipped_path(name: str) -> Path:
    path = SHIPPED_DIR / f"{name}.keras"
    if not path.is_file():
        known = sorted(p.stem for p in SHIPPED_DIR.glob("*.keras"))
        raise SourceError(f"shipped:{name}: no such shipped model (shipped: {', '.join(known) or 'none'})")
    return path


def keras_path(source: str) -> Path | None:
    """The `.keras` file behind a shipped name, run folder or .keras path; None for other formats."""
    if source.startswith("shipped:"):
        return shipped_path(source.removeprefix("shipped:"))
    path = Path(source)
    if path.is_dir() and (path / "config.json").is_file():
        for name in ("generator.keras", "checkpoint.keras"):
            if (path / name).is_file():
                return path / name
        raise SourceError(f"{source}: run folder has no generator.keras yet (is training finished?)")
    if path.suffix == ".keras":
        if not path.is_file():
            raise SourceError(f"{source}: no such file")
        return path
    return None


def l2_partner(source: str) -> str:
    """The L2 generator that a GAN source was fine-tuned from, for `--strength` interpolation."""
    if source == "shipped:gan":
        return "shipped:l2"
    path = Path(source)
    if path.is_dir() and (path / "generator_l2.keras").is_file():
        return str(path / "generator_l2.keras")
    raise SourceError(
        f"{source}: --strength needs a GAN run folder or shipped:gan (an L2 generator of the same architecture)"
    )


def load_keras_generator(path: Path):
    """Load a generator saved as .keras, its custom layers named by `baselines.models.CUSTOM_OBJECTS`."""
    import keras

    from unjpeg.baselines.models import CUSTOM_OBJECTS  # imports Keras: deferred with it

    try:
        model = keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False)
    except Exception as err:  # noqa: BLE001 - Keras raises many types for a bad file
        raise SourceError(f"{path}: cannot load model ({type(err).__name__}: {err})") from None
    # A training checkpoint is the whole compiled model; only its forward pass is needed here.
    return model


def keras_restorer(model, name: str, precision: Precision = FLOAT32) -> Restorer:
    """A restorer calling float32 Keras `model` under `precision` (weights copied, `model` unchanged)."""
    import tensorflow as tf

    from unjpeg.baselines.conditioning import is_conditioned  # imports Keras: deferred with it

    model = with_precision(model, precision)
    fixed = next(t for t in model.inputs if t.name != "tables").shape[1]
    image_spec = tf.TensorSpec((None, fixed, fixed, 3), tf.float32)
    if not is_conditioned(model):
        forward = tf.function(lambda x: model(x, training=False), input_signature=[image_spec])
        return Restorer(name, lambda batch: forward(batch).numpy(), fixed, precision)
    signature = [image_spec, tf.TensorSpec((None, TABLES), tf.float32)]

    def call(images, tables):  # in the order of the model's inputs
        return model([tables if t.name == "tables" else images for t in model.inputs], training=False)

    forward = tf.function(call, input_signature=signature)
    return Restorer(name, lambda batch, tables: forward(batch, tables).numpy(), fixed, precision, True)


def saved_model_restorer(path: Path) -> Restorer:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures.get("serving_default")
    if serve is None:
        raise SourceError(f"{path}: SavedModel has no serving_default signature")
    specs = serve.structured_input_signature[1]
    (input_name,) = [name for name, spec in specs.items() if spec.shape.rank != 2]
    tables_names = [name for name, spec in specs.items() if spec.shape.rank == 2]
    fixed = specs[input_name].shape[1]

    def run(batch, tables=None):
        given = {input_name: tf.constant(batch)}
        given.update({name: tf.constant(tables) for name in tables_names})
        return next(iter(serve(**given).values())).numpy()

    return Restorer(path.name, run, fixed, conditioned=bool(tables_names))


def onnx_restorer(path: Path) -> Restorer:
    try:
        import onnxruntime
    except ImportError:
        raise SourceError(f"{path}: ONNX models need onnxruntime: pip install 'unjpeg[export]'") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = [given for given in session.get_inputs() if len(given.shape) != 2]
    tables_names = [given.name for given in session.get_inputs() if len(given.shape) == 2]
    fixed = model_input.shape[1] if isinstance(model_input.shape[1], int) else None

    def run(batch, tables=None):
        return session.run(None, {model_input.name: batch, **dict.fromkeys(tables_names, tables)})[0]

    return Restorer(path.name, run, fixed, conditioned=bool(tables_names))


def tflite_restorer(path: Path) -> Restorer:
    import tensorflow as tf

    with warnings.catch_warnings():
        # TF 2.20+ warns that tf.lite.Interpreter moves to ai_edge_litert; it still works, and the
        # warning would print on every restore.
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    (detail,) = [given for given in interpreter.get_input_details() if len(given["shape"]) != 2]
    tables_details = [given for given in interpreter.get_input_details() if len(given["shape"]) == 2]
    fixed = int(detail["shape"][1]) if detail["shape_signature"][1] > 0 else None

    allocated = []  # the input shape tensors are allocated for; tiles mostly share one

    def run(batch, tables=None):
        if allocated != [batch.shape]:
            interpreter.resize_tensor_input(detail["index"], batch.shape)
            for given in tables_details:
                interpreter.resize_tensor_input(given["index"], (len(batch), TABLES))
            interpreter.allocate_tensors()
            allocated[:] = [batch.shape]
        interpreter.set_tensor(detail["index"], batch)
        for given in tables_details:
            interpreter.set_tensor(given["index"], tables)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return Restorer(path.name, run, fixed, conditioned=bool(tables_details))


def load_restorer(source: str, strength: float | None = None, precision: str = "float32") -> Restorer:
    """Resolve SOURCE (see module docstring) into a `Restorer`; `strength` blends L2 into GAN weights;
    `precision` is "auto", "float32" or "bfloat16" (module docstring). Raises SourceError."""
    if precision not in CHOICES:  # fails before anything loads
        raise SourceError(f"--precision must be one of {', '.join(CHOICES)}, got {precision!r}")
    path = keras_path(source)
    if path is not None:
        model = load_keras_generator(path)
        if strength is not None:
            partner = keras_path(l2_partner(source))
            try:
                model = interpolate(load_keras_generator(partner), model, strength)
            except ValueError as err:
                raise SourceError(str(err)) from None
        restorer = keras_restorer(model, source, choose_precision(precision, gpu=gpu_available()))
        log.info("%s: %s", source, restorer.precision.describe())
        return restorer
    if strength is not None:
        raise SourceError(f"{source}: --strength works on .keras generators, run folders and shipped models")
    if precision == "bfloat16":
        raise SourceError(f"{source}: --precision bfloat16 needs a Keras generator; exports run in float32")
    restorer = _exported_restorer(source)
    restorer.precision = Precision("float32", "float32", f"{precision}: an exported model runs in float32")
    log.info("%s: %s", source, restorer.precision.describe())
    return restorer


def _exported_restorer(source: str) -> Restorer:
    """A SavedModel, .onnx or .tflite SOURCE as a Restorer (float32)."""
    path = Path(source)
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return saved_model_restorer(path)
    if path.suffix == ".onnx" and path.is_file():
        return onnx_restorer(path)
    if path.suffix == ".tflite" and path.is_file():
        return tflite_restorer(path)
    raise SourceError(
        f"{source}: unknown model source (expected shipped:NAME, a run folder, .keras, .onnx, .tflite "
        "or a SavedModel folder)"
    )
