"""L2 training of a baseline generator with Keras `compile`/`fit`, resumable from its run folder.

The skeleton (run folder, patches, schedule, checkpoints, the non-finite guard) is
`baselines.training_loop`'s; this module adds the model, its loss and its checkpoint file (checkpoint.keras:
the compiled model with its optimizer state).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops
from unjpeg.baselines import runs, training_loop
from unjpeg.baselines.conditioning import is_conditioned
from unjpeg.baselines.luma_consistency import bare_generator, check_consistency, consistent_training_model
from unjpeg.baselines.models import build_model
from unjpeg.baselines.precision import POLICIES, dtype_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig(training_loop.RunConfig):
    """L2 training settings; the defaults are those of the README's runs."""

    # The checkpoint of a consistency run is the generator inside `consistent_training_model`.
    FIXED_ON_RESUME = (*training_loop.RunConfig.FIXED_ON_RESUME, "consistency")

    learning_rate: float = 5e-4  # Adam; cosine decay to 1 % over `steps` (measured: see s2dnet.py)
    loss: str = "mse"  # a LOSSES key


def psnr_per_image(clean, restored):
    """PSNR in dB (B,) float32 of (B, H, W, C) images in [0, 1], the restored one clipped to [0, 1]."""
    clean, restored = ops.cast(clean, "float32"), ops.cast(restored, "float32")
    mse = ops.mean(ops.square(clean - ops.clip(restored, 0.0, 1.0)), axis=(1, 2, 3))
    return -10.0 * ops.log(ops.maximum(mse, 1e-10)) / ops.log(10.0)


@keras.saving.register_keras_serializable(package="unjpeg")
def psnr(y_true, y_pred):
    """PSNR in dB of images in [0, 1] (the prediction clipped to [0, 1]), averaged over the batch."""
    return ops.mean(psnr_per_image(y_true, y_pred))


# The per-patch MSE floor of `psnr_loss`, in [0, 1]² units: 1e-6 is 60 dB, above any 8-bit JPEG of a
# photo (q100 with 4:4:4 decodes at about 50-58 dB), so the floor never decides the gradient of a real patch.
PSNR_LOSS_FLOOR = 1e-6


@keras.saving.register_keras_serializable(package="unjpeg")
def psnr_loss(y_true, y_pred):
    """−PSNR in dB per patch, (B,) float32: 10·log10(MSE + PSNR_LOSS_FLOOR), unclipped so every pixel
    has a gradient.

    Its gradient is that of the MSE divided by the patch's own MSE, so a near-lossless patch (q95, MSE
    about 1e-5) weighs as much as a q10 one (about 1e-3), where plain MSE lets the low qualities decide
    and the model learns to smooth what it should leave alone. Minimising it maximises the mean ΔPSNR
    over patches, which is what `unjpeg compare` reports.
    """
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
    mse = ops.mean(ops.square(y_true - y_pred), axis=tuple(range(1, len(y_true.shape))))
    return 10.0 * ops.log(mse + PSNR_LOSS_FLOOR) / ops.log(10.0)


# `unjpeg train --loss`: Keras losses of (clean, restored) in [0, 1].
LOSSES = {"mse": "mse", "psnr": psnr_loss}


def input_size(model: keras.Model) -> int | None:
    """The fixed square input size of a model such as autoencoder-fc, or None if fully convolutional."""
    return model.inputs[0].shape[1]


def init_weights(model: keras.Model, init: keras.Model) -> None:
    """Copy `init`'s weights into `model` layer by layer, by name, to continue or grow a trained generator.

    Every weighted layer of `init` must exist in `model` with the same shapes, or, for a wider s2dnet
    (`--width`), with each dimension at least as large. Growing keeps the grown net computing exactly
    what `init` did, and every new weight trainable from the first step:
    - deeper: a layer only in `model` keeps its fresh initialisation, except the last conv of a residual
      branch (`*_conv2`), which is zeroed, so an extra residual block starts as the identity;
    - wider: `init`'s weights fill the leading slice of each tensor. New output channels keep their fresh
      initialisation (zero for the zero-initialised FiLM heads), and the kernel entries from new input
      channels to old output channels are zeroed, so old channels never see new ones (Net2WiderNet's
      function-preserving growth, Chen et al., ICLR 2016, with zeros in place of split weights). The
      output conv's outputs are all old, so its new input rows start at zero and the image is unchanged.
    """
    layers = {layer.name: layer for layer in model.layers}
    for layer in init.layers:
        if not layer.weights:
            continue
        target = layers.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if target is None or not _fits(shapes, [tuple(w.shape) for w in target.weights]):
            raise ValueError(f"--init: layer {layer.name} {shapes} has no match in {model.name}")
        target.set_weights(
            [_embedded(old, new) for old, new in zip(layer.get_weights(), target.get_weights(), strict=True)]
        )
    copied = {layer.name for layer in init.layers}
    for name, layer in layers.items():
        if name.endswith("_conv2") and name not in copied:
            layer.set_weights([np.zeros(w.shape, w.dtype) for w in layer.get_weights()])


def _fits(shapes: list[tuple], target_shapes: list[tuple]) -> bool:
    """Whether every weight of one layer fits inside the same-rank weight of the other."""
    return len(shapes) == len(target_shapes) and all(
        len(shape) == len(target) and all(a <= b for a, b in zip(shape, target, strict=True))
        for shape, target in zip(shapes, target_shapes, strict=True)
    )


def _embedded(old: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """`fresh` with `old` in its leading slice and, for a kernel (..., in, out), zeros from the new inputs
    to the old outputs."""
    if old.shape == fresh.shape:
        return old
    grown = fresh.copy()
    grown[tuple(slice(n) for n in old.shape)] = old
    if old.ndim >= 2:
        grown[..., old.shape[-2] :, : old.shape[-1]] = 0.0
    return grown


def compiled_model(config: TrainConfig) -> keras.Model:
    """The generator of `config` (inside `consistent_training_model` if `config.consistency`), computing
    under its precision, compiled with its loss (MSE or `psnr_loss`, computed in float32 whatever the
    output dtype) and the PSNR metric."""
    with dtype_policy(POLICIES[config.precision]):
        model = build_model(config.model, **config.model_kwargs)
    if config.consistency:
        model = consistent_training_model(model)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=LOSSES[config.loss], metrics=[psnr])
    return model


def validate(model: keras.Model, val_pairs: dict):
    """PSNR per validation quality, and the sample grid's images at the lowest quality."""
    scores = {}
    for quality, (degraded, clean) in val_pairs.items():
        restored = model.predict(degraded, batch_size=4, verbose=0)
        scores[f"val_psnr_q{quality}"] = float(psnr(clean, restored))
    inputs, clean = val_pairs[min(val_pairs)]
    inputs, clean = training_loop.first_rows(inputs, 4), clean[:4]
    return scores, (training_loop.images_of(inputs), model.predict(inputs, verbose=0), clean)


def save_checkpoint(model: keras.Model, path: Path) -> None:
    """Save the compiled model atomically, so a kill mid-save keeps the previous checkpoint."""
    tmp = path.with_name("checkpoint.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def train(
    config: TrainConfig,
    resume: bool = False,
    force: bool = False,
    init: Callable[[], keras.Model] | None = None,
) -> Path:
    """Train `config.model` with L2 loss; returns the run folder holding the float32 `generator.keras`.

    `init` returns the generator to start from (see `init_weights`); it is called only when the run
    starts from step 0 (a new run, or --resume without a checkpoint). Raises `TrainingDiverged`.
    """
    check_consistency(config)
    out, state = training_loop.start_run(config, resume, force)
    checkpoint = out / "checkpoint.keras"
    if resume and checkpoint.is_file():
        model = keras.models.load_model(checkpoint)  # its layers keep the precision they were saved with
    else:
        model, state = compiled_model(config), {"step": 0, "epoch": 0}
        if init is not None:
            init_weights(bare_generator(model), init())
            log.info("starting from the weights of %s", config.init or "the given generator")
    training_loop.log_start(out, resume, state, config)
    if config.consistency:
        log.info("loss and validation PSNR are of the output after the luma JPEG-consistency projection")
    runs.save_config(out, config)

    patch = input_size(model) or config.patch
    val_size = input_size(model) or config.val_size
    dataset, val_pairs = training_loop.patch_data(config, state, patch, val_size, is_conditioned(model))
    monitor = training_loop.RunMonitor(
        out,
        config,
        state,
        validate=lambda trained: validate(trained, val_pairs),
        save_checkpoint=lambda step: save_checkpoint(model, checkpoint),
    )
    training_loop.fit_run(model, dataset, monitor)
    if checkpoint.is_file():
        # The last good weights: this model's unless the run diverged after the checkpoint.
        best = keras.models.load_model(checkpoint) if monitor.diverged else model
        with dtype_policy("float32"):
            generator = build_model(config.model, **config.model_kwargs)
        generator.set_weights(best.get_weights())
        generator.save(out / "generator.keras")
    training_loop.check_diverged(out, monitor, checkpoint.is_file())
    return out
