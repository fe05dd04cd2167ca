"""GAN training driver: warm start from an L2 run, checkpoint resume, and the `unjpeg train-gan` command."""

import csv
import json
import logging
import shutil
from dataclasses import fields

import keras
import numpy as np
import pytest
import tensorflow as tf
import unjpeg.baselines.training_loop
from PIL import Image
from unjpeg.baselines import models, runs
from unjpeg.data.jpeg import DEFAULT_QUALITY_RANGE
from unjpeg.gan.model import PSNR_PIXEL_WEIGHT, checkpoint_manager
from unjpeg.gan.train_gan import GanConfig, build_gan, load_init_generator

from unjpeg import cli

SMALL = ["--patch", "32", "--batch", "2", "--checkpoint-every", "2"]
PROBE = np.random.default_rng(1).random((2, 40, 48, 3), dtype=np.float32)


@pytest.fixture(scope="module")
def l2_run(tmp_path_factory):
    """A folder of four random 96×96 photos and a 2-step L2 run of s2dnet width 8 on them."""
    root = tmp_path_factory.mktemp("gan")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(root / "photos" / f"{i}.png")
    argv = [
        "train",
        "--model",
        "s2dnet",
        "--width",
        "8",
        "--data",
        str(root / "photos"),
        "--out",
        str(root / "l2"),
    ]
    assert cli.main([*argv, *SMALL, "--steps", "2"]) == 0
    return root


def small_config(root, **overrides) -> GanConfig:
    base = dict(model="s2dnet", init=str(root / "l2"), data=str(root / "photos"), out=str(root / "gan"))
    return GanConfig(**{**base, "d_width": 4, "model_kwargs": {"width": 8}, **overrides})


def test_config_defaults():
    config = GanConfig(model="s2dnet", init="i", data="d", out="o")
    assert config.quality == DEFAULT_QUALITY_RANGE and (config.batch, config.steps) == (8, 6000)
    assert config.precision == "float32" and "d_width" in GanConfig.FIXED_ON_RESUME
    assert {"init", "model"} <= {field.name for field in fields(GanConfig)}


def test_warm_start_loads_exactly_the_l2_generator(l2_run, tmp_path):
    l2 = keras.models.load_model(l2_run / "l2" / "generator.keras")
    expected = np.asarray(l2(PROBE))
    generator, kwargs = load_init_generator(l2_run / "l2", "s2dnet")
    assert kwargs == {"width": 8}
    np.testing.assert_array_equal(np.asarray(generator(PROBE)), expected)
    gan = build_gan(small_config(l2_run), generator.get_weights())
    np.testing.assert_array_equal(np.asarray(gan.generator(PROBE)), expected)
    np.testing.assert_array_equal(np.asarray(gan(PROBE)), expected)  # the EMA starts from the same weights
    # An unfinished L2 run (no generator.keras) is read from its checkpoint.keras.
    shutil.copytree(l2_run / "l2", tmp_path / "l2")
    (tmp_path / "l2" / "generator.keras").unlink()
    from_checkpoint, _ = load_init_generator(tmp_path / "l2", "s2dnet")
    np.testing.assert_array_equal(np.asarray(from_checkpoint(PROBE)), expected)


def test_init_of_another_model_fails_clearly(l2_run):
    with pytest.raises(runs.RunFolderError, match="trained 's2dnet', not 'other'; pass --generator s2dnet"):
        load_init_generator(l2_run / "l2", "other")


def test_resume_restores_optimizers_ema_and_discriminator(l2_run, tmp_path):
    config = small_config(l2_run, ema_decay=0.5)
    init, _ = load_init_generator(l2_run / "l2", "s2dnet")
    gan = build_gan(config, init.get_weights())
    gan.fit(x=PROBE[:, :32, :32], y=PROBE[:, 8:40, 8:40], batch_size=2, epochs=3, verbose=0)
    checkpoint_manager(gan, tmp_path).save(checkpoint_number=3)

    fresh = build_gan(config)  # builder initialisation: the checkpoint must overwrite everything
    manager = checkpoint_manager(fresh, tmp_path)
    manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    assert int(fresh.g_optimizer.iterations) == int(fresh.d_optimizer.iterations) == 3
    pairs = [
        (gan.ema_generator.weights, fresh.ema_generator.weights),
        (gan.generator.weights, fresh.generator.weights),
        (gan.discriminator.weights, fresh.discriminator.weights),
        (gan.g_optimizer.variables, fresh.g_optimizer.variables),
        (gan.d_optimizer.variables, fresh.d_optimizer.variables),
    ]
    compared = 0
    for saved, restored in pairs:
        assert len(saved) == len(restored) > 0
        for a, b in zip(saved, restored, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            compared += 1
    assert compared > 20
    np.testing.assert_array_equal(np.asarray(fresh(PROBE)), np.asarray(gan(PROBE)))


def test_cli_trains_resumes_and_refuses_another_generator(l2_run, monkeypatch, capsys):
    out = l2_run / "gan_cli"
    common = ["train-gan", "--data", str(l2_run / "photos"), "--out", str(out), *SMALL, "--d-width", "4"]
    assert cli.main([*common, "--generator", "s2dnet", "--init", str(l2_run / "l2"), "--steps", "4"]) == 0

    names = {path.relative_to(out).as_posix() for path in out.rglob("*")}
    expected = {
        "config.json",
        "state.json",
        "log.csv",
        "generator.keras",
        "generator_l2.keras",
        "tensorboard",
    }
    assert expected <= names
    assert {"samples/epoch_0001.png", "samples/epoch_0002.png", "checkpoints/ckpt-4.index"} <= names
    config = json.loads((out / "config.json").read_text())
    assert config["init"] == str(l2_run / "l2") and config["model"] == "s2dnet"
    assert config["model_kwargs"] == {"width": 8} and config["warmup"] == 250
    assert json.loads((out / "state.json").read_text()) == {"epoch": 2, "step": 4}
    header, *rows = (out / "log.csv").read_text().splitlines()
    for key in (
        "g_loss",
        "g_pixel",
        "g_lpips",
        "g_adv",
        "d_loss",
        "d_real",
        "d_fake",
        "val_psnr_q10",
        "val_lpips_q30",
    ):
        assert key in header.split(",")
    assert len(rows) == 2
    exported = keras.models.load_model(out / "generator.keras")
    assert keras.backend.standardize_dtype(exported(PROBE).dtype) == "float32"
    l2 = keras.models.load_model(l2_run / "l2" / "generator.keras")
    for a, b in zip(keras.models.load_model(out / "generator_l2.keras").weights, l2.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    # Resume (no --init needed) to 6 steps: one more epoch, the step count carried by the optimizers.
    assert cli.main([*common, "--generator", "s2dnet", "--steps", "6", "--resume"]) == 0
    assert json.loads((out / "state.json").read_text()) == {"epoch": 3, "step": 6}
    gan = build_gan(small_config(l2_run))
    manager = checkpoint_manager(gan, out / "checkpoints")
    manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    assert int(gan.g_optimizer.iterations) == 6

    monkeypatch.setitem(models.MODELS, "s2dnet_copy", models.MODELS["s2dnet"])
    capsys.readouterr()
    assert cli.main([*common, "--generator", "s2dnet_copy", "--steps", "8", "--resume"]) == 2
    assert "this run trained 's2dnet', cannot resume it as 's2dnet_copy'" in capsys.readouterr().err


def test_cli_needs_init_for_a_new_run(l2_run, capsys):
    argv = [
        "train-gan",
        "--generator",
        "s2dnet",
        "--data",
        str(l2_run / "photos"),
        "--out",
        str(l2_run / "x"),
    ]
    assert cli.main(argv) == 2
    assert "--init is required" in capsys.readouterr().err


def test_a_keras_init_grown_conditioned_starts_exactly_where_it_was(l2_run, tmp_path):
    path = l2_run / "l2" / "generator.keras"
    expected = np.asarray(keras.models.load_model(path)(PROBE))
    generator, kwargs = load_init_generator(path, "s2dnet", {"width": 8, "conditioned": True})
    assert kwargs == {"width": 8, "conditioned": True} and len(generator.inputs) == 2
    tables = np.random.default_rng(2).random((2, 128), dtype=np.float32)  # the FiLM starts at zero
    np.testing.assert_allclose(np.asarray(generator([PROBE, tables])), expected, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="needs an L2 run folder, shipped:NAME or a .keras"):
        load_init_generator(tmp_path / "missing.keras", "s2dnet", {"width": 8})


def test_a_keras_init_grown_wider_starts_exactly_where_it_was(l2_run):
    path = l2_run / "l2" / "generator.keras"
    expected = np.asarray(keras.models.load_model(path)(PROBE))
    generator, _ = load_init_generator(path, "s2dnet", {"width": 12})
    assert generator.get_layer("conv_in").get_weights()[0].shape[-1] == 12
    np.testing.assert_allclose(np.asarray(generator(PROBE)), expected, atol=1e-5)


def test_cli_fine_tunes_a_keras_generator_conditioned_on_real_jpegs(l2_run, capsys):
    out = l2_run / "gan_from_keras"
    argv = ["train-gan", "--generator", "s2dnet", "--data", str(l2_run / "photos"), "--out", str(out)]
    init = ["--init", str(l2_run / "l2" / "generator.keras"), "--width", "8", "--conditioned"]
    real = ["--degradation", "real", "--d-width", "4", "--steps", "2"]
    assert cli.main([*argv, *init, *real, *SMALL]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_kwargs"] == {"width": 8, "conditioned": True} and config["degradation"] == "real"
    assert config["pixel_loss"] == "mse" and config["pixel_weight"] == 100.0
    assert len(keras.models.load_model(out / "generator.keras").inputs) == 2
    # A shipped or .keras init carries no builder kwargs: without them, the layers cannot match.
    capsys.readouterr()
    assert cli.main([*argv[:-1], str(l2_run / "x"), "--init", "shipped:l2", *real, *SMALL]) == 2
    assert "--init: layer" in capsys.readouterr().err


def test_cli_trains_a_conditioned_generator_through_the_projection_and_refuses_a_blind_one(l2_run, capsys):
    argv = ["train-gan", "--generator", "s2dnet", "--data", str(l2_run / "photos"), "--d-width", "4",
            "--steps", "1", "--init", str(l2_run / "l2"), "--consistency-loss", *SMALL]  # fmt: skip
    assert cli.main([*argv, "--out", str(l2_run / "blind_proj")]) == 2
    assert "--consistency-loss needs --conditioned" in capsys.readouterr().err
    out = l2_run / "proj"
    assert cli.main([*argv, "--out", str(out), "--conditioned", "--degradation", "real"]) == 0
    assert json.loads((out / "config.json").read_text())["consistency"] is True
    generator = keras.models.load_model(out / "generator.keras")  # the bare generator, as shipped
    assert len(generator.inputs) == 2 and "luma_consistency" not in [layer.name for layer in generator.layers]


def test_the_psnr_pixel_loss_brings_its_own_weight_unless_one_is_given(l2_run):
    argv = ["train-gan", "--generator", "s2dnet", "--data", str(l2_run / "photos"), "--d-width", "4",
            "--steps", "1", "--init", str(l2_run / "l2"), "--pixel-loss", "psnr", *SMALL]  # fmt: skip
    assert cli.main([*argv, "--out", str(l2_run / "psnr")]) == 0
    config = json.loads((l2_run / "psnr" / "config.json").read_text())
    assert config["pixel_loss"] == "psnr" and config["pixel_weight"] == PSNR_PIXEL_WEIGHT
    with open(l2_run / "psnr" / "log.csv") as handle:
        assert float(next(csv.DictReader(handle))["g_pixel"]) < 0  # dB
    assert cli.main([*argv, "--out", str(l2_run / "psnr2"), "--pixel-weight", "0.5"]) == 0
    assert json.loads((l2_run / "psnr2" / "config.json").read_text())["pixel_weight"] == 0.5


def test_cli_stops_on_a_non_finite_loss_and_exports_the_last_good_weights(l2_run, monkeypatch, capsys):
    original = unjpeg.baselines.training_loop.patch_dataset

    def poisoned_after_two_batches(*args, **kwargs):
        def poison(index, batch):
            degraded, clean = batch
            return degraded, tf.where(index >= 2, clean * np.nan, clean)

        return original(*args, **kwargs).enumerate().map(poison)

    monkeypatch.setattr(unjpeg.baselines.training_loop, "patch_dataset", poisoned_after_two_batches)
    out = l2_run / "gan_nan"
    argv = [
        "train-gan",
        "--generator",
        "s2dnet",
        "--init",
        str(l2_run / "l2"),
        "--data",
        str(l2_run / "photos"),
    ]
    assert cli.main([*argv, "--out", str(out), *SMALL, "--d-width", "4", "--steps", "6"]) == 2
    error = capsys.readouterr().err
    assert "step 3: non-finite g_loss, g_pixel" in error and "kept the checkpoint of step 2" in error
    assert json.loads((out / "state.json").read_text()) == {"epoch": 1, "step": 2}
    assert sorted(path.name for path in (out / "checkpoints").glob("*.index")) == ["ckpt-2.index"]
    exported = keras.models.load_model(out / "generator.keras")
    assert all(np.all(np.isfinite(np.asarray(weight))) for weight in exported.weights)


def test_a_new_run_keeps_the_split_seed_of_its_l2_run(l2_run, tmp_path):
    from unjpeg.train_gan_cli import config_from_args

    init = tmp_path / "l2"
    shutil.copytree(l2_run / "l2", init)
    saved = json.loads((init / "config.json").read_text())
    runs.write_json(init / "config.json", {**saved, "split_seed": 9})
    argv = ["train-gan", "--generator", "s2dnet", "--init", str(init), "--data", "d", "--out", "o"]
    assert config_from_args(cli.build_parser("train-gan").parse_args(argv))[0].split_seed == 9
    chosen = cli.build_parser("train-gan").parse_args([*argv, "--split-seed", "2"])
    assert config_from_args(chosen)[0].split_seed == 2


def test_precision_options_of_a_new_run_and_of_a_resumed_one(l2_run, tmp_path, monkeypatch):
    from unjpeg.baselines import precision

    from unjpeg.train_gan_cli import config_from_args

    monkeypatch.setattr(precision, "read_cpuinfo", lambda: "flags\t: fpu avx512_bf16\n")
    argv = ["train-gan", "--generator", "s2dnet", "--init", str(l2_run / "l2"), "--data", "d", "--out"]

    def config(*extra, out=tmp_path / "new"):
        return config_from_args(cli.build_parser("train-gan").parse_args([*argv, str(out), *extra]))

    assert config()[0].precision == "bfloat16" and config()[1].reason == "auto: CPU has avx512_bf16"
    assert config("--precision", "float32")[0].precision == "float32"
    assert config("--mixed-precision")[0].precision == "float16"  # the old flag keeps its meaning
    with pytest.raises(ValueError, match="conflicts with --precision bfloat16"):
        config("--mixed-precision", "--precision", "bfloat16")
    # A resumed run keeps its precision, and refuses another one.
    (tmp_path / "old").mkdir()
    runs.write_json(tmp_path / "old" / "config.json", {"model": "s2dnet", "precision": "float32"})
    kept, chosen = config("--resume", out=tmp_path / "old")
    assert kept.precision == "float32" and chosen is None
    with pytest.raises(
        runs.RunFolderError, match="precision='float32', cannot resume it with precision='bfloat16'"
    ):
        config("--resume", "--precision", "auto", out=tmp_path / "old")


def test_resume_without_a_checkpoint_starts_from_the_init_run_and_says_so(l2_run, caplog):
    out = l2_run / "gan_no_checkpoint"
    out.mkdir()
    saved = {"model": "s2dnet", "init": str(l2_run / "l2"), "model_kwargs": {"width": 8}, "d_width": 4}
    runs.write_json(out / "config.json", saved)
    argv = ["train-gan", "--generator", "s2dnet", "--data", str(l2_run / "photos"), "--out", str(out)]
    with caplog.at_level(logging.INFO):
        assert cli.main([*argv, *SMALL, "--steps", "2", "--resume"]) == 0
    assert f"{out}: no checkpoint to continue from; starting from step 0" in caplog.text
    assert json.loads((out / "state.json").read_text()) == {"epoch": 1, "step": 2}
    assert (out / "generator_l2.keras").is_file()
    assert json.loads((out / "config.json").read_text())["d_width"] == 4  # kept from the saved run
