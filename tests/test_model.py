"""JpegGAN: one step trains G and D but not LPIPS, EMA, warm-up, NaN guard, MirroredStrategy, mixed precision."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from unjpeg.baselines.luma_consistency import LumaConsistency
from unjpeg.baselines.models import build_model
from unjpeg.baselines.precision import dtype_policy
from unjpeg.baselines.runs import read_state
from unjpeg.baselines.training_loop import RunConfig, RunMonitor, fit_run
from unjpeg.data.jpeg import decode_jpeg, jpeg_bytes, normalise_tables, quant_tables
from unjpeg.gan.discriminator import build_patch_discriminator
from unjpeg.gan.model import (
    TRAIN_KEYS,
    JpegGAN,
    LossWeights,
    checkpoint_manager,
    export_generator,
    validate,
)
from unjpeg.losses.lpips import LPIPS

from tests.helpers import randomised
from tests.jpeg_helpers import pattern

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
CLEAN = RNG.random((2, 32, 32, 3), dtype=np.float32)
DEGRADED = np.clip(CLEAN + 0.1 * RNG.standard_normal(CLEAN.shape, dtype=np.float32), 0, 1)


def warm_generator(seed: int = 0) -> keras.Model:
    """s2dnet width 8 with a non-zero output conv, as after L2 training (its zero init would block the
    gradient to every other layer on the first step)."""
    generator = build_model("s2dnet", width=8)
    conv_out = generator.get_layer("conv_out")
    rng = np.random.default_rng(seed)
    conv_out.kernel.assign(0.01 * rng.standard_normal(conv_out.kernel.shape).astype(np.float32))
    return generator


def make_gan(optimizer=keras.optimizers.Adam, **kwargs) -> JpegGAN:
    gan = JpegGAN(
        warm_generator(), build_patch_discriminator(width=4), LPIPS("alex", value_range=(0, 1)), **kwargs
    )
    gan.compile(g_optimizer=optimizer(1e-3), d_optimizer=optimizer(1e-3))
    gan.build_optimizers()
    return gan


def snapshot(variables) -> list[np.ndarray]:
    return [np.array(v) for v in variables]


def test_one_step_changes_g_and_d_but_not_lpips():
    gan = make_gan()
    g_before = snapshot(gan.generator.trainable_variables)
    d_before = snapshot(gan.discriminator.trainable_variables)
    lpips_before = snapshot(gan.lpips.weights)
    assert len(g_before) > 0 and len(d_before) > 0 and len(lpips_before) > 0
    assert gan.lpips.trainable_variables == [] and gan.ema_generator.trainable_variables == []
    logs = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)
    assert set(logs) == set(TRAIN_KEYS)
    assert all(np.isfinite(value) for value in logs.values()), logs
    for before, after in zip(
        g_before + d_before,
        gan.generator.trainable_variables + gan.discriminator.trainable_variables,
        strict=True,
    ):
        assert not np.allclose(before, np.array(after)), after.path
    for before, after in zip(lpips_before, gan.lpips.weights, strict=True):
        np.testing.assert_array_equal(before, np.array(after))


def test_ema_moves_toward_the_generator():
    gan = make_gan(ema_decay=0.5)
    ema_before = snapshot(gan.ema_generator.weights)
    np.testing.assert_array_equal(ema_before[0], np.array(gan.generator.weights[0]))
    gan.train_on_batch(DEGRADED, CLEAN)
    for old, ema, weight in zip(ema_before, gan.ema_generator.weights, gan.generator.weights, strict=True):
        np.testing.assert_allclose(np.array(ema), 0.5 * old + 0.5 * np.array(weight), atol=1e-7)
    moved = [
        not np.allclose(old, np.array(ema))
        for old, ema in zip(ema_before, gan.ema_generator.weights, strict=True)
    ]
    assert any(moved)


def test_warmup_zeroes_the_adversarial_weight():
    weights = LossWeights(pixel=10.0, lpips=2.0, adversarial=0.5)
    gan = make_gan(loss_weights=weights, warmup_steps=1)
    first = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)  # update 0: warm-up
    assert first["g_adv"] > 0.1  # the term is computed and logged, only its weight is 0
    np.testing.assert_allclose(first["g_loss"], 10.0 * first["g_pixel"] + 2.0 * first["g_lpips"], rtol=1e-5)
    second = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)  # update 1: after the warm-up
    expected = 10.0 * second["g_pixel"] + 2.0 * second["g_lpips"] + 0.5 * second["g_adv"]
    np.testing.assert_allclose(second["g_loss"], expected, rtol=1e-5)


def test_the_psnr_pixel_term_is_minus_the_batch_mean_psnr():
    weights = LossWeights(pixel=0.033, lpips=2.0, adversarial=0.0)
    gan = make_gan(loss_weights=weights, pixel_loss="psnr")
    restored = np.asarray(gan.generator(DEGRADED))  # G before the step, as the step computes it
    expected = np.mean(10 * np.log10(np.mean((restored - CLEAN) ** 2, axis=(1, 2, 3)) + 1e-6))
    logs = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)
    np.testing.assert_allclose(logs["g_pixel"], expected, rtol=1e-4)
    np.testing.assert_allclose(logs["g_loss"], 0.033 * logs["g_pixel"] + 2.0 * logs["g_lpips"], rtol=1e-4)
    with pytest.raises(ValueError, match="pixel_loss must be one of"):
        make_gan(pixel_loss="l1")


def test_with_consistency_every_term_sees_the_projected_output():
    clean = np.stack([pattern(32, 40, seed=seed) for seed in (0, 1)])
    files = [jpeg_bytes(image, 30, "4:4:4") for image in clean]
    degraded = np.stack([decode_jpeg(data) for data in files]).astype(np.float32) / 255.0
    tables = np.stack([normalise_tables(quant_tables(data)[0]) for data in files])
    clean = clean.astype(np.float32) / 255.0
    keras.utils.set_random_seed(0)
    generator = randomised(build_model("s2dnet", width=8, conditioned=True), scale=0.05)
    gan = JpegGAN(generator, build_patch_discriminator(width=4), LPIPS("alex", value_range=(0, 1)),
                  LossWeights(pixel=1.0, lpips=0.0, adversarial=0.0), consistency=True)  # fmt: skip
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    restored = np.asarray(generator([degraded, tables]))  # G before the step, as the step computes it
    projected = np.asarray(LumaConsistency()(restored, degraded, tables))
    logs = gan.train_on_batch((degraded, tables), clean, return_dict=True)
    np.testing.assert_allclose(logs["g_pixel"], np.mean((projected - clean) ** 2), rtol=1e-4)
    assert logs["g_pixel"] < np.mean((restored - clean) ** 2)  # the projection moved it toward the truth
    with pytest.raises(ValueError, match="consistency needs a conditioned generator"):
        make_gan(consistency=True)


def batches(*items) -> tf.data.Dataset:
    degraded = np.stack([item[0] for item in items])
    clean = np.stack([item[1] for item in items])
    return tf.data.Dataset.from_tensor_slices((degraded, clean))


def checkpoint_files(folder: Path) -> dict:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.iterdir())}


def test_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path, caplog):
    gan = make_gan()
    manager = checkpoint_manager(gan, tmp_path / "checkpoints")

    def monitor(steps: int) -> RunMonitor:
        config = RunConfig(model="s2dnet", data="", out=str(tmp_path), steps=steps, checkpoint_every=2)
        return RunMonitor(
            tmp_path,
            config,
            read_state(tmp_path),
            validate=lambda trained: validate(trained, {10: (DEGRADED, CLEAN)}),
            save_checkpoint=lambda step: manager.save(checkpoint_number=step),
        )

    first = monitor(steps=2)
    fit_run(gan, batches((DEGRADED, CLEAN), (DEGRADED, CLEAN)), first)
    saved = checkpoint_files(tmp_path / "checkpoints")
    assert any(name.endswith(".index") for name in saved) and first.diverged is None
    assert (tmp_path / "samples" / "epoch_0001.png").is_file()

    poisoned = CLEAN.copy()
    poisoned[0, 0, 0, 0] = np.nan
    second = monitor(steps=6)
    fit_run(
        gan, batches((DEGRADED, CLEAN), (DEGRADED, poisoned), (DEGRADED, CLEAN), (DEGRADED, CLEAN)), second
    )
    assert second.diverged.startswith("step 4: non-finite g_loss, g_pixel")
    assert second.step == 4  # stopped at once, not at the end of the interval
    assert "step 4" in caplog.text
    assert checkpoint_files(tmp_path / "checkpoints") == saved
    assert json.loads((tmp_path / "state.json").read_text()) == {"epoch": 1, "step": 2}
    manager.checkpoint.restore(manager.latest_checkpoint)
    assert all(np.all(np.isfinite(np.array(v))) for v in gan.generator.weights + gan.ema_generator.weights)


MIRRORED_SCRIPT = """
import json, os
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from tests.test_model import CLEAN, DEGRADED, make_gan
clean = np.concatenate([CLEAN, CLEAN[:, ::-1]]); degraded = np.concatenate([DEGRADED, DEGRADED[:, ::-1]])
data = tf.data.Dataset.from_tensors((degraded, clean)).repeat()
sgd = lambda lr: keras.optimizers.SGD(lr)
single = make_gan(optimizer=sgd, adversarial="bce", ema_decay=0.5)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = make_gan(optimizer=sgd, adversarial="bce", ema_decay=0.5)
mirrored.generator.set_weights(single.generator.get_weights())
mirrored.ema_generator.set_weights(single.ema_generator.get_weights())
mirrored.discriminator.set_weights(single.discriminator.get_weights())
before = single.generator.get_weights() + single.discriminator.get_weights()
out = {"replicas": strategy.num_replicas_in_sync}
from unjpeg.gan.model import validate
for name, gan in (("single", single), ("mirrored", mirrored)):
    history = gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0).history
    # One validation image for two replicas: it must still be scored.
    scores, _ = validate(gan, {10: (DEGRADED[:1], CLEAN[:1])})
    out[name] = {**{k: float(v[0]) for k, v in history.items()}, **{k: float(v) for k, v in scores.items()}}
    after = gan.generator.get_weights() + gan.discriminator.get_weights()
    out[name + "_delta"] = [(a - b).tolist() for a, b in zip(after, before)]
    out[name + "_ema"] = [w.tolist() for w in gan.ema_generator.get_weights()]
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_devices_matches_one_device():
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, result.stderr[-3000:]
    out = json.loads(lines[0].removeprefix("RESULT"))
    assert out["replicas"] == 2
    assert all(np.isfinite(v) for v in out["mirrored"].values())
    for key in (*TRAIN_KEYS, "val_psnr_q10", "val_lpips_q10"):  # replica means averaged = global mean
        assert out["mirrored"][key] == pytest.approx(out["single"][key], rel=1e-4, abs=1e-6), key
    # Gradients reduced by the GLOBAL batch: the SGD updates match (a per-replica mean would double them).
    for single, mirrored in zip(out["single_delta"], out["mirrored_delta"], strict=True):
        single, mirrored = np.array(single), np.array(mirrored)
        np.testing.assert_allclose(mirrored, single, atol=1e-4 * max(np.abs(single).max(), 1e-8) + 1e-8)
    for single, mirrored in zip(out["single_ema"], out["mirrored_ema"], strict=True):
        np.testing.assert_allclose(np.array(mirrored), np.array(single), atol=1e-6)


def test_mixed_precision_step_and_float32_export(tmp_path):
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        gan = make_gan(optimizer=lambda lr: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(lr)))
        assert gan.generator.compute_dtype == "float16"
        logs = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)
        restored = gan(DEGRADED)
    finally:
        keras.config.set_dtype_policy(saved)
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert keras.backend.standardize_dtype(restored.dtype) == "float32"
    export_generator(gan, "s2dnet", {"width": 8}, tmp_path / "generator.keras")
    exported = keras.models.load_model(tmp_path / "generator.keras")
    assert all(v.dtype == "float32" for v in exported.weights)
    output = exported(DEGRADED)
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    np.testing.assert_allclose(np.array(output), np.array(restored), atol=5e-3)  # float16 vs float32 compute


def test_bfloat16_step_keeps_float32_losses_variables_and_export(tmp_path):
    with dtype_policy("mixed_bfloat16"):
        gan = make_gan()
    assert gan.discriminator.compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in gan.generator.weights + gan.discriminator.weights)
    logs = gan.train_on_batch(DEGRADED, CLEAN, return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    restored = gan(DEGRADED)
    assert keras.backend.standardize_dtype(restored.dtype) == "float32"
    export_generator(gan, "s2dnet", {"width": 8}, tmp_path / "generator.keras")
    exported = keras.models.load_model(tmp_path / "generator.keras")
    assert all(v.dtype == "float32" for v in exported.weights)
    assert {layer.dtype_policy.name for layer in exported.layers} == {"float32"}
    np.testing.assert_allclose(np.array(exported(DEGRADED)), np.array(restored), atol=2e-2)
