"""L2 training of a baseline generator with Keras `compile`/`fit`, resumable from its run folder."""

from __future__ import annotations

import argparse
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from unjpeg.baselines import runs
from unjpeg.baselines.models import MODELS, build_model
from unjpeg.data.datasets import training_sets
from unjpeg.data.jpeg import DEFAULT_QUALITY_RANGE
from unjpeg.data.options import add_data_options, data_config
from unjpeg.data.patches import PatchConfig, patch_dataset, validation_pairs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """L2 training settings; the defaults are those of the README's runs."""

    model: str
    data: str
    out: str
    quality: tuple[int, int] = DEFAULT_QUALITY_RANGE
    patch: int = 128
    batch: int = 16
    steps: int = 5_000
    steps_per_epoch: int = 250  # one epoch is also the checkpoint interval
    learning_rate: float = 5e-4  # Adam; cosine decay to 1 % over `steps` (measured: see s2dnet.py)
    seed: int = 1  # patches and weights
    # Apart from `seed`, so that a stage started with --init and a new --seed never trains on the
    # images its init was validated on. `unjpeg train --init RUN` takes RUN's (runs.split_of_init).
    split_seed: int = 1
    val_fraction: float = 0.1
    val_qualities: tuple[int, ...] = (10, 30)
    val_size: int = 256
    grid_offsets: bool = False
    gray_fraction: float = 0.15  # so one colour model also serves grayscale photos
    model_kwargs: dict = field(default_factory=dict)
    init: str = ""  # generator to start from (see `init_weights`); "" starts from the builder's init

    @property
    def epochs(self) -> int:
        return math.ceil(self.steps / self.steps_per_epoch)


@keras.saving.register_keras_serializable(package="unjpeg")
def psnr(y_true, y_pred):
    """PSNR in dB of images in [0, 1] (the prediction clipped to [0, 1]), averaged over the batch."""
    mse = tf.reduce_mean(tf.square(y_true - tf.clip_by_value(y_pred, 0.0, 1.0)), axis=[1, 2, 3])
    return tf.reduce_mean(-10.0 * tf.math.log(tf.maximum(mse, 1e-10)) / tf.math.log(10.0))


def input_size(model: keras.Model) -> int | None:
    """The fixed square input size of a model such as autoencoder-fc, or None if fully convolutional."""
    return model.inputs[0].shape[1]


class RunMonitor(keras.callbacks.Callback):
    """At each epoch end: PSNR per validation quality into the logs, a sample grid, then the checkpoint.

    The checkpoint is written only when the epoch's loss is finite, atomically, so a killed or diverged
    run keeps its last good state.
    """

    def __init__(self, out: Path, val_pairs: dict, steps_per_epoch: int):
        super().__init__()
        self.out, self.val_pairs, self.steps_per_epoch = out, val_pairs, steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for quality, (degraded, clean) in self.val_pairs.items():
            restored = self.model.predict(degraded, batch_size=4, verbose=0)
            logs[f"val_psnr_q{quality}"] = float(psnr(clean, restored))
        degraded, clean = self.val_pairs[min(self.val_pairs)]
        shown = slice(0, min(4, len(degraded)))
        runs.save_sample_grid(
            self.out / "samples" / f"epoch_{epoch + 1:04d}.png",
            degraded[shown],
            self.model.predict(degraded[shown], verbose=0),
            clean[shown],
        )
        if not np.isfinite(logs.get("loss", np.nan)):
            log.error("epoch %d: non-finite loss, checkpoint not written", epoch + 1)
            self.model.stop_training = True
            return
        tmp = self.out / "checkpoint.tmp.keras"
        self.model.save(tmp)
        os.replace(tmp, self.out / "checkpoint.keras")
        runs.write_json(
            self.out / "state.json", {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch}
        )


def init_path(source: str) -> Path:
    """The `.keras` file behind `source`: shipped:NAME, a run folder (generator, else checkpoint) or a file."""
    from unjpeg.sources import keras_path

    path = keras_path(source)
    if path is None:
        raise runs.RunFolderError(f"{source}: --init needs shipped:NAME, a run folder or a .keras generator")
    return path


def init_weights(model: keras.Model, init: keras.Model) -> None:
    """Copy `init`'s weights into `model` layer by layer, by name, to continue or grow a trained generator.

    Every weighted layer of `init` must exist in `model` with the same shapes. A layer only in `model`
    keeps its fresh initialisation, except the last conv of a residual branch (`*_conv2`), which is
    zeroed: extra residual blocks of a deeper s2dnet then start as the identity, and the grown net
    computes exactly what `init` did.
    """
    layers = {layer.name: layer for layer in model.layers}
    for layer in init.layers:
        if not layer.weights:
            continue
        target = layers.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if target is None or [tuple(w.shape) for w in target.weights] != shapes:
            raise ValueError(f"--init: layer {layer.name} {shapes} has no match in {model.name}")
        target.set_weights(layer.get_weights())
    copied = {layer.name for layer in init.layers}
    for name, layer in layers.items():
        if name.endswith("_conv2") and name not in copied:
            layer.set_weights([np.zeros(w.shape, w.dtype) for w in layer.get_weights()])


def compiled_model(config: TrainConfig) -> keras.Model:
    model = build_model(config.model, **config.model_kwargs)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse", metrics=[psnr])
    return model


def train(config: TrainConfig, resume: bool = False, force: bool = False) -> Path:
    """Train `config.model` with L2 loss; returns the run folder holding `generator.keras`."""
    init = init_path(config.init) if config.init and not resume else None
    out = runs.prepare_run_folder(config.out, resume, force)
    if resume:
        runs.check_same_model(out, config.model)
    keras.utils.set_random_seed(config.seed)
    state = runs.read_state(out)
    if resume and (out / "checkpoint.keras").is_file():
        model = keras.models.load_model(out / "checkpoint.keras")
        log.info("resuming %s from step %d", out, state["step"])
    else:
        model, state = compiled_model(config), {"step": 0, "epoch": 0}
        if init is not None:
            from unjpeg.sources import load_keras_generator

            init_weights(model, load_keras_generator(init))
            log.info("starting from the weights of %s", config.init)
    runs.save_config(out, config)

    patch = input_size(model) or config.patch
    train_set, val_set = training_sets(config.data, patch, config.val_fraction, config.split_seed)
    log.info("%d training and %d validation images", len(train_set.images), len(val_set.images))
    patches = PatchConfig(patch, tuple(config.quality), config.grid_offsets, config.gray_fraction)
    # A new seed per resumed segment, so a resumed run does not replay the patches it has seen.
    dataset = patch_dataset(train_set, patches, config.batch, seed=config.seed + state["epoch"])
    val_pairs = validation_pairs(val_set, tuple(config.val_qualities), input_size(model) or config.val_size)
    callbacks = [
        RunMonitor(out, val_pairs, config.steps_per_epoch),
        keras.callbacks.CSVLogger(str(out / "log.csv"), append=True),
        keras.callbacks.TensorBoard(str(out / "tensorboard"), update_freq=50),
    ]
    model.fit(
        dataset,
        steps_per_epoch=config.steps_per_epoch,
        epochs=config.epochs,
        initial_epoch=state["epoch"],
        shuffle=False,  # the patch stream is already random
        callbacks=callbacks,
        verbose=1 if os.environ.get("UNJPEG_QUIET") is None else 2,
    )
    if runs.read_state(out)["epoch"] > 0:
        best = keras.models.load_model(out / "checkpoint.keras")
        generator = build_model(config.model, **config.model_kwargs)
        generator.set_weights(best.get_weights())
        generator.save(out / "generator.keras")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--blocks", type=int, help="s2dnet residual blocks (default 4)")
    parser.add_argument(
        "--init",
        default="",
        help="start from this generator (shipped:NAME, run folder or .keras); s2dnet may grow --blocks",
    )
    add_data_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.blocks and args.model != "s2dnet":
        raise ValueError(f"--blocks applies to s2dnet only, not {args.model}")
    saved = runs.load_config(args.out) if args.resume else runs.split_of_init(args.init)
    kwargs = {"width": args.width, "num_blocks": args.blocks}
    config = TrainConfig(
        model=args.model,
        # A resumed run keeps the architecture it was built with unless told otherwise.
        model_kwargs={key: value for key, value in kwargs.items() if value} or saved.get("model_kwargs", {}),
        init=args.init or saved.get("init", ""),
        **({"learning_rate": args.lr} if args.lr else {}),
        **data_config(args, saved),
    )
    out = train(config, resume=args.resume, force=args.force)
    logging.getLogger("unjpeg").info("generator: %s", out / "generator.keras")
    return 0
