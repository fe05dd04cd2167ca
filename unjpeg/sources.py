"""Resolve a model SOURCE into a restore function, for `unjpeg compare` and `unjpeg restore`.

A SOURCE is one of:
- `shipped:NAME`: a generator shipped in `unjpeg/shipped/NAME.keras` (`shipped:l2`, `shipped:gan`);
- a run folder (holds `config.json`): its `generator.keras`;
- a `.keras` file;
- a SavedModel folder (holds `saved_model.pb`), run through TensorFlow without the training code;
- a `.onnx` file, run through ONNX Runtime without TensorFlow;
- a `.tflite` file, run through the TFLite interpreter.

Every restorer maps (B, H, W, 3) float32 in [0, 1] to (B, H, W, 3) float32 clipped to [0, 1].

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

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).parent / "shipped"


class SourceError(ValueError):
    """A model SOURCE that cannot be found or loaded, with a one-line reason."""


@dataclass
class Restorer:
    """A loaded model: `fn` restores (B, H, W, 3) float32 in [0, 1]; `fixed_size` is 32 for autoencoder-fc;
    `precision` is what its calls compute in."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    fixed_size: int | None = None
    precision: Precision = FLOAT32

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(self.fn(np.asarray(batch, np.float32)), np.float32), 0.0, 1.0)


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


def interpolate(l2_model, gan_model, strength: float):
    """Network interpolation (ESRGAN, Wang et al. 2018): weights (1 - s)·L2 + s·GAN, s in [0, 1]."""
    if not 0.0 <= strength <= 1.0:
        raise SourceError(f"--strength must be in [0, 1], got {strength}")
    l2_weights, gan_weights = l2_model.get_weights(), gan_model.get_weights()
    shapes = ([w.shape for w in l2_weights], [w.shape for w in gan_weights])
    if shapes[0] != shapes[1]:
        raise SourceError("--strength needs two generators of the same architecture; these differ")
    gan_model.set_weights(
        [(1 - strength) * a + strength * b for a, b in zip(l2_weights, gan_weights, strict=True)]
    )
    return gan_model


def keras_restorer(model, name: str, precision: Precision = FLOAT32) -> Restorer:
    """A restorer calling float32 Keras `model` under `precision` (weights copied, `model` unchanged)."""
    import tensorflow as tf

    model = with_precision(model, precision)
    fixed = model.inputs[0].shape[1]
    signature = [tf.TensorSpec((None, fixed, fixed, 3), tf.float32)]
    forward = tf.function(lambda x: model(x, training=False), input_signature=signature)
    return Restorer(name, lambda batch: forward(batch).numpy(), fixed, precision)


def saved_model_restorer(path: Path) -> Restorer:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures.get("serving_default")
    if serve is None:
        raise SourceError(f"{path}: SavedModel has no serving_default signature")
    (input_name,) = serve.structured_input_signature[1].keys()
    fixed = serve.structured_input_signature[1][input_name].shape[1]

    def run(batch):
        outputs = serve(**{input_name: tf.constant(batch)})
        return next(iter(outputs.values())).numpy()

    return Restorer(path.name, run, fixed)


def onnx_restorer(path: Path) -> Restorer:
    try:
        import onnxruntime
    except ImportError:
        raise SourceError(f"{path}: ONNX models need onnxruntime: pip install 'unjpeg[export]'") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    fixed = model_input.shape[1] if isinstance(model_input.shape[1], int) else None
    return Restorer(path.name, lambda batch: session.run(None, {model_input.name: batch})[0], fixed)


def tflite_restorer(path: Path) -> Restorer:
    import tensorflow as tf

    with warnings.catch_warnings():
        # TF 2.20+ warns that tf.lite.Interpreter moves to ai_edge_litert; it still works, and the
        # warning would print on every restore.
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path))
    (detail,) = interpreter.get_input_details()
    fixed = int(detail["shape"][1]) if detail["shape_signature"][1] > 0 else None

    allocated = []  # the input shape tensors are allocated for; tiles mostly share one

    def run(batch):
        if allocated != [batch.shape]:
            interpreter.resize_tensor_input(detail["index"], batch.shape)
            interpreter.allocate_tensors()
            allocated[:] = [batch.shape]
        interpreter.set_tensor(detail["index"], batch)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return Restorer(path.name, run, fixed)


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
            model = interpolate(load_keras_generator(partner), model, strength)
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
