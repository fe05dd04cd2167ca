"""Training a table-conditioned s2dnet on the 'real' degradations, from the command line and the library."""

import json

import keras
import numpy as np
from unjpeg.baselines import training_loop
from unjpeg.gan.model import repeat_rows

from tests.helpers import saved_tiny_s2dnet
from unjpeg.cli import main


def test_first_rows_images_of_and_repeat_rows_take_tuples_and_arrays():
    images, tables = np.arange(5 * 2).reshape(5, 2), np.arange(5 * 3).reshape(5, 3)
    head = training_loop.first_rows((images, tables), 2)
    assert [x.shape for x in head] == [(2, 2), (2, 3)]
    np.testing.assert_array_equal(training_loop.images_of(head), images[:2])
    np.testing.assert_array_equal(training_loop.first_rows(images, 4), images[:4])
    np.testing.assert_array_equal(training_loop.images_of(images), images)
    repeated = repeat_rows((images, tables), 2)
    assert [x.shape for x in repeated] == [(10, 2), (10, 3)]
    np.testing.assert_array_equal(repeated[1][5:], tables)
    assert repeat_rows(images, 3).shape == (15, 2)


def test_conditioned_real_run_feeds_tables_and_defaults_to_the_real_range(photos, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "s2dnet", "--width", "8", "--blocks", "1", "--conditioned",
            "--degradation", "real", "--data", str(photos), "--out", str(out), "--patch", "32",
            "--batch", "2", "--checkpoint-every", "2", "--steps", "2"]  # fmt: skip
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_kwargs"]["conditioned"] is True
    assert config["degradation"] == "real"
    assert tuple(config["quality"]) == (5, 100) and tuple(config["val_qualities"]) == (10, 30, 90)
    header = (out / "log.csv").read_text().splitlines()[0]
    assert "val_psnr_q90" in header
    # --resume without --degradation keeps the run's.
    assert main([*args[:-1], "4", "--resume"]) == 0
    assert json.loads((out / "config.json").read_text())["degradation"] == "real"


def test_conditioned_applies_to_s2dnet_only(photos, tmp_path, capsys):
    args = ["train", "--model", "blockcnn", "--conditioned", "--data", str(photos), "--out",
            str(tmp_path / "run"), "--steps", "1"]  # fmt: skip
    assert main(args) == 2
    assert "--conditioned applies to s2dnet only" in capsys.readouterr().err


def test_a_consistency_run_trains_through_the_projection_and_saves_the_bare_generator(photos, tmp_path):
    out, (_, init) = tmp_path / "run", saved_tiny_s2dnet(tmp_path)  # 4 blocks, grown with the tables input
    args = ["train", "--model", "s2dnet", "--width", "8", "--blocks", "4", "--conditioned", "--init", str(init),
            "--degradation", "real", "--consistency-loss", "--data", str(photos), "--out", str(out),
            "--patch", "32", "--batch", "2", "--checkpoint-every", "2", "--steps", "2"]  # fmt: skip
    assert main(args) == 0
    assert json.loads((out / "config.json").read_text())["consistency"] is True
    checkpoint = keras.models.load_model(out / "checkpoint.keras")
    assert "luma_consistency" in [layer.name for layer in checkpoint.layers]
    generator = keras.models.load_model(out / "generator.keras")
    assert "luma_consistency" not in [layer.name for layer in generator.layers]
    assert [t.name for t in generator.inputs] == [t.name for t in checkpoint.get_layer("s2dnet").inputs]
    # Weights, not outputs: under --precision auto the checkpoint computes in bfloat16 on a CPU with bf16
    # units, while generator.keras is the float32 model.
    inner = checkpoint.get_layer("s2dnet").get_weights()
    assert len(inner) > 0 and len(generator.get_weights()) == len(inner)
    for saved, trained in zip(generator.get_weights(), inner, strict=True):
        np.testing.assert_array_equal(saved, trained)
    # --resume keeps it.
    assert main([*args[:-1], "4", "--resume"]) == 0
    assert json.loads((out / "config.json").read_text())["consistency"] is True


def test_consistency_needs_the_tables(photos, tmp_path, capsys):
    args = ["train", "--model", "s2dnet", "--width", "8", "--consistency-loss", "--data", str(photos),
            "--out", str(tmp_path / "run"), "--steps", "1"]  # fmt: skip
    assert main(args) == 2
    assert "--consistency-loss needs --conditioned" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
