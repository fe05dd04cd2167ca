"""The shared training skeleton, driven through L2 training of a width-8 s2dnet on tiny random photos."""

import csv
import json
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
import unjpeg.baselines.training_loop as training_loop
from unjpeg.baselines.train import TrainConfig, train
from unjpeg.baselines.training_loop import RunConfig, RunMonitor, TrainingDiverged, duration


def tiny(photos, out, **overrides) -> TrainConfig:
    settings = dict(model="s2dnet", data=str(photos), out=str(out), patch=32, batch=2, val_size=32)
    return TrainConfig(**{**settings, "model_kwargs": {"width": 8}, **overrides})


def logged_steps(out) -> list[int]:
    with open(out / "log.csv") as handle:
        return [int(row["step"]) for row in csv.DictReader(handle)]


def optimizer_steps(out) -> int:
    return int(keras.models.load_model(out / "checkpoint.keras").optimizer.iterations)


def test_steps_are_exact_and_the_last_interval_is_shorter(photos, tmp_path):
    out = train(tiny(photos, tmp_path / "run", steps=5, checkpoint_every=2))
    assert json.loads((out / "state.json").read_text()) == {"epoch": 3, "step": 5}
    assert logged_steps(out) == [2, 4, 5] and optimizer_steps(out) == 5
    with open(out / "log.csv") as handle:
        speeds = [float(row["steps_per_s"]) for row in csv.DictReader(handle)]
    assert all(speed > 0 for speed in speeds)  # the first interval is timed after its tracing step
    assert sorted(p.name for p in (out / "samples").iterdir())[-1] == "epoch_0003.png"


def poisoned_after(batches: int, monkeypatch):
    original = training_loop.patch_dataset

    def poisoned(*args, **kwargs):
        def poison(index, batch):
            degraded, clean = batch
            return degraded, tf.where(index >= batches, clean * np.nan, clean)

        return original(*args, **kwargs).enumerate().map(poison)

    monkeypatch.setattr(training_loop, "patch_dataset", poisoned)


def test_time_checkpoints_between_intervals_and_resume_says_from_where(photos, tmp_path, monkeypatch, caplog):
    out = tmp_path / "run"
    poisoned_after(2, monkeypatch)  # stands in for a kill at step 3: the run stops there
    config = tiny(photos, out, steps=4, checkpoint_every=100, checkpoint_seconds=0)
    with pytest.raises(TrainingDiverged, match="step 3: non-finite loss.*kept the checkpoint of step 2"):
        train(config)
    assert json.loads((out / "state.json").read_text()) == {"epoch": 0, "step": 2}  # by time, not by step
    assert not (out / "log.csv").exists()
    monkeypatch.undo()
    with caplog.at_level(logging.INFO):
        train(config, resume=True)
    assert f"{out}: continuing from step 2 of 4" in caplog.text
    assert json.loads((out / "state.json").read_text()) == {"epoch": 1, "step": 4}
    assert logged_steps(out) == [4] and optimizer_steps(out) == 4


def test_resume_without_a_checkpoint_says_so_and_starts_at_step_0(photos, tmp_path, caplog):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"model": "s2dnet"}))
    with caplog.at_level(logging.INFO):
        train(tiny(photos, out, steps=1), resume=True)
    assert f"{out}: no checkpoint to continue from; starting from step 0" in caplog.text
    assert json.loads((out / "state.json").read_text()) == {"epoch": 1, "step": 1}


def test_a_non_finite_l2_loss_stops_with_an_error_and_keeps_the_last_generator(photos, tmp_path, monkeypatch):
    poisoned_after(2, monkeypatch)
    out = tmp_path / "run"
    with pytest.raises(
        TrainingDiverged, match="step 3: non-finite loss, psnr; kept the checkpoint of step 2"
    ):
        train(tiny(photos, out, steps=6, checkpoint_every=2))
    generator = keras.models.load_model(out / "generator.keras")
    assert all(np.all(np.isfinite(np.asarray(weight))) for weight in generator.weights)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_are_plain_and_time_the_whole_run(tmp_path, caplog):
    clock = FakeClock()
    config = RunConfig(model="m", data="", out=str(tmp_path), steps=100, checkpoint_every=50)
    checkpoints = []
    monitor = RunMonitor(
        tmp_path,
        config,
        {"step": 40, "epoch": 0},
        validate=None,
        save_checkpoint=checkpoints.append,
        progress_seconds=10,
        clock=clock,
    )
    monitor.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    monitor.on_train_begin()
    with caplog.at_level(logging.INFO):
        for _ in range(5):  # steps 41-45, one second each after the first (tracing) step
            clock.now += 1.0
            monitor.on_train_batch_end(0, {"loss": 0.5})
        clock.now += 60  # no step for a minute: the next step checkpoints by time
        monitor.on_train_batch_end(0, {"loss": 0.25})
    assert checkpoints == [46]
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["step 46/100, 0.08 steps/s, ETA 11m31s: loss 0.25"]  # 5 steps in 64 s after step 41
    assert "\x1b" not in caplog.text


def test_duration():
    assert [duration(s) for s in (12.4, 245, 3725)] == ["12s", "4m05s", "1h02m"]


def test_patch_data_draws_the_configured_chroma_layouts(photos, tmp_path, monkeypatch):
    seen = {}

    def capture(images, patches, batch, seed, with_tables):
        seen["real"] = patches.real
        return None

    monkeypatch.setattr(training_loop, "patch_dataset", capture)
    config = tiny(photos, tmp_path / "run", degradation="real", subsampling_weights=[0.0, 0.0, 1.0])
    training_loop.patch_data(config, {"step": 0}, patch=32, val_size=32, with_tables=True)
    assert seen["real"].subsampling_weights == (0.0, 0.0, 1.0)
    assert seen["real"].double_share == 0.2  # the other real settings keep their defaults
