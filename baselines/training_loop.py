"""The training skeleton shared by `unjpeg train` (L2) and `unjpeg train-gan`: config, data, monitor, fit.

A run counts its steps from its start; state.json carries the count across `--resume`, and `steps` is the
exact total. Every `checkpoint_every` steps and at the last step the monitor validates, writes a sample grid
(JPEG | restored | original), a row of log.csv and TensorBoard scalars, then the checkpoint. Between those it
checkpoints at least every `checkpoint_seconds`, so a kill loses at most that much training. A non-finite
logged value stops the run at that step; the last good checkpoint is kept and `TrainingDiverged` names the
step and the terms. Progress goes to `logging` as plain lines (step, steps/s, ETA of the whole run), so a
log redirected to a file carries no terminal control codes.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from unjpeg.baselines import runs
from unjpeg.data.datasets import training_sets
from unjpeg.data.degradations import RealDegradation
from unjpeg.data.jpeg import DEFAULT_QUALITY_RANGE
from unjpeg.data.patches import PatchConfig, patch_dataset, validation_pairs

log = logging.getLogger(__name__)

TENSORBOARD_EVERY = 50  # steps between TensorBoard points of the running training losses ("batch_loss", ...)


@dataclass(frozen=True)
class RunConfig:
    """Data, run folder and schedule settings common to every trainer; the defaults are the README runs'."""

    # Settings a resumed run must keep: they fix the shape and dtype policy of the checkpoint.
    FIXED_ON_RESUME = ("model", "model_kwargs", "precision")

    model: str
    data: str
    out: str
    quality: tuple[int, int] = DEFAULT_QUALITY_RANGE
    patch: int = 128
    batch: int = 16
    steps: int = 5_000  # exactly; the last interval is shorter if `checkpoint_every` does not divide it
    checkpoint_every: int = 250  # steps between validations (a log.csv row, a sample grid) and checkpoints
    checkpoint_seconds: float = 60.0  # and a checkpoint at least this often in between
    seed: int = 1  # patches and weights
    # Apart from `seed`, so that a stage started with --init and a new --seed never trains on the
    # images its init was validated on; a stage started from a run folder keeps that run's.
    split_seed: int = 1
    val_fraction: float = 0.1
    val_qualities: tuple[int, ...] = (10, 30)
    val_size: int = 256
    grid_offsets: bool = False
    gray_fraction: float = 0.15  # so one colour model also serves grayscale photos
    degradation: str = "classic"  # a `data.patches.DEGRADATIONS` key: "classic" (Pillow 4:2:0) or "real"
    blind_fraction: float = 0.2  # conditioned generators: share of patches trained without their tables
    min_scale: float = 1.0  # scale augmentation: regions shrunk by a factor in [min_scale, 1]; 1: none
    # "real" only: relative weights of 4:4:4, 4:2:2 and 4:2:0 (`data.jpeg.SUBSAMPLINGS` order).
    subsampling_weights: tuple[float, ...] = (1.0, 1.0, 1.0)
    # The losses see the output after the luma projection of `baselines.luma_consistency`, as restore
    # writes it for a JPEG input; conditioned generators on grid-aligned patches only.
    consistency: bool = False
    model_kwargs: dict = field(default_factory=dict)
    precision: str = "float32"  # a `baselines.precision.Precision.name`; weights stay float32 either way
    init: str = ""  # the generator the run started from, as given (see the trainer); "" for none

    def __post_init__(self):
        if self.degradation != "real" and len(set(self.subsampling_weights)) > 1:
            raise ValueError("--subsampling-weights needs --degradation real (classic JPEGs are all 4:2:0)")
        if not 0 < self.min_scale <= 1:  # here, so a bad value stops before the run folder is written
            raise ValueError(f"--min-scale must be in (0, 1], got {self.min_scale}")


class TrainingDiverged(ValueError):
    """A logged loss became NaN or infinite; the message names the step and the terms."""


def start_run(config: RunConfig, resume: bool, force: bool) -> tuple[Path, dict]:
    """The run folder (created, or checked for --resume) and its state {"step", "epoch"}; seeds Keras."""
    out = runs.prepare_run_folder(config.out, resume, force)
    keras.utils.set_random_seed(config.seed)
    return out, runs.read_state(out)


def log_start(out: Path, resume: bool, state: dict, config: RunConfig) -> None:
    """Say where the run starts: the step it continues from, or that there was nothing to continue."""
    if resume and state["step"]:
        log.info("%s: continuing from step %d of %d", out, state["step"], config.steps)
    elif resume:
        log.warning("%s: no checkpoint to continue from; starting from step 0", out)


def patch_data(config: RunConfig, state: dict, patch: int, val_size: int, with_tables: bool = False):
    """The training patch stream (tf.data, batches of `config.batch`) and {quality: (inputs, clean)}.

    With `with_tables` (a conditioned generator) the inputs are (degraded, tables), else degraded alone.
    """
    train_set, val_set = training_sets(config.data, patch, config.val_fraction, config.split_seed)
    log.info("%d training and %d validation images", len(train_set.images), len(val_set.images))
    patches = PatchConfig(
        patch,
        tuple(config.quality),
        config.grid_offsets,
        config.gray_fraction,
        degradation=config.degradation,
        real=RealDegradation(subsampling_weights=tuple(config.subsampling_weights)),
        blind_fraction=config.blind_fraction,
        min_scale=config.min_scale,
    )
    # A new seed per resumed segment, so a resumed run does not replay the patches it has seen.
    seed = config.seed + state["step"]
    dataset = patch_dataset(train_set, patches, config.batch, seed=seed, with_tables=with_tables)
    val_pairs = validation_pairs(val_set, tuple(config.val_qualities), val_size, with_tables=with_tables)
    return dataset, val_pairs


def first_rows(inputs, count: int):
    """The first `count` rows of a model's inputs: an array, or a tuple of arrays (degraded, tables)."""
    return tuple(x[:count] for x in inputs) if isinstance(inputs, tuple) else inputs[:count]


def images_of(inputs):
    """The degraded images (N, H, W, C) of a model's inputs, with or without their tables."""
    return inputs[0] if isinstance(inputs, tuple) else inputs


def duration(seconds: float) -> str:
    """`seconds` as "1h02m", "4m05s" or "12s"."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def in_metric_order(values: dict, model: keras.Model) -> dict:
    """`values` in the order of `model.metrics` (a GAN's g_loss first), not Keras's alphabetical one."""
    rank = {metric.name: i for i, metric in enumerate(model.metrics)}
    return dict(sorted(values.items(), key=lambda item: rank.get(item[0], len(rank))))


def describe(values: dict) -> str:
    return ", ".join(f"{key} {value:.4g}" for key, value in values.items())


class RunMonitor(keras.callbacks.Callback):
    """Steps, validation, checkpoints, progress and the non-finite guard of one run segment (see module doc).

    `validate(model)` returns the validation scores {"val_psnr_q10": ..., ...} and the sample grid's
    (degraded, restored, clean), each (N, H, W, 3) in [0, 1]; `save_checkpoint(step)` writes the checkpoint.
    """

    def __init__(
        self,
        out: Path,
        config: RunConfig,
        state: dict,
        validate: Callable,
        save_checkpoint: Callable[[int], None],
        progress_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.out, self.config, self.validate, self.save_checkpoint = (
            Path(out),
            config,
            validate,
            save_checkpoint,
        )
        self.step, self.epoch, self.first_step = state["step"], state["epoch"], state["step"]
        self.progress_seconds, self.clock = progress_seconds, clock
        self.interval = (self.step, 0.0)  # (step, clock) where the current interval's timing starts
        self.diverged = None

    def on_train_begin(self, logs=None):
        self.started = self.last_checkpoint = self.last_progress = self.clock()
        self.writer = tf.summary.create_file_writer(str(self.out / "tensorboard"))

    def on_train_batch_end(self, batch, logs=None):
        logs = in_metric_order(logs or {}, self.model)
        self.step += 1
        if self.step == self.first_step + 1:  # the first step traces the graph: time the rate after it
            self.started = self.clock()
            self.interval = (self.step, self.started)
        bad = [key for key, value in logs.items() if not np.isfinite(value)]
        if bad:
            self.diverged = f"step {self.step}: non-finite {', '.join(bad)}"
            log.error("%s; stopping, the last good checkpoint is kept", self.diverged)
            self.model.stop_training = True
            return
        if self.step % TENSORBOARD_EVERY == 0:
            self.scalars({f"batch_{key}": value for key, value in logs.items()})
        if self.step % self.config.checkpoint_every == 0 or self.step >= self.config.steps:
            self.end_interval(logs)
        else:
            if self.clock() - self.last_checkpoint >= self.config.checkpoint_seconds:
                self.checkpoint()
            if self.clock() - self.last_progress >= self.progress_seconds:
                log.info("%s: %s", self.progress(), describe(logs))

    def progress(self) -> str:
        """ "step S/N, R steps/s, ETA T", the rate and ETA over the steps of this segment after the first."""
        self.last_progress = self.clock()
        text = f"step {self.step}/{self.config.steps}"
        timed = self.step - self.first_step - 1
        if timed > 0:
            rate = timed / max(self.clock() - self.started, 1e-9)
            text += f", {rate:.2f} steps/s, ETA {duration((self.config.steps - self.step) / rate)}"
        return text

    def end_interval(self, logs: dict) -> None:
        # Training speed over the interval, without validation and the first (tracing) step; NaN if untimed.
        first, since = self.interval
        speed = (self.step - first) / (self.clock() - since) if self.step > first else float("nan")
        scores, (degraded, restored, clean) = self.validate(self.model)
        self.epoch += 1
        runs.save_sample_grid(self.out / "samples" / f"epoch_{self.epoch:04d}.png", degraded, restored, clean)
        row = {**logs, **scores, "steps_per_s": speed}
        append_row(self.out / "log.csv", {"epoch": self.epoch - 1, "step": self.step, **row})
        self.scalars(row)
        self.checkpoint()
        log.info("%s: %s", self.progress(), describe(row))
        self.model.reset_metrics()  # each log.csv row averages its own interval
        self.interval = (self.step, self.clock())

    def scalars(self, values: dict) -> None:
        """TensorBoard scalars at the run's step (so a resumed run's curves continue where they stopped)."""
        with self.writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(key, value, step=self.step)
        self.writer.flush()

    def checkpoint(self) -> None:
        self.save_checkpoint(self.step)
        runs.write_json(self.out / "state.json", {"epoch": self.epoch, "step": self.step})
        self.last_checkpoint = self.clock()


def append_row(path: Path, row: dict) -> None:
    """Append `row` to the CSV at `path`, writing the header (the first row's columns) for a new file."""
    if path.is_file():
        with open(path, newline="") as handle:
            columns = next(csv.reader(handle), None)
    else:
        columns = None
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or list(row), extrasaction="ignore")
        if columns is None:
            writer.writeheader()
        writer.writerow(row)


def fit_run(model: keras.Model, dataset, monitor: RunMonitor) -> None:
    """Train `model` from the monitor's step to exactly `config.steps`, in one Keras epoch."""
    remaining = monitor.config.steps - monitor.step
    if remaining <= 0:
        log.info(
            "%s: already at step %d of %d, nothing to train", monitor.out, monitor.step, monitor.config.steps
        )
        return
    model.fit(dataset, steps_per_epoch=remaining, epochs=1, shuffle=False, verbose=0, callbacks=[monitor])


def check_diverged(out: Path, monitor: RunMonitor, checkpointed: bool) -> None:
    """Raise `TrainingDiverged` if the monitor stopped the run, naming the checkpoint that was kept."""
    if monitor.diverged:
        step = runs.read_state(out)["step"]
        kept = f"kept the checkpoint of step {step}" if checkpointed else "wrote no checkpoint"
        raise TrainingDiverged(f"{out}: {monitor.diverged}; {kept}")
