"""`unjpeg train`: the run folder, resume, --init stages and the one rule for options, from the command line."""

import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from unjpeg.cli import main

ROOT = Path(__file__).resolve().parents[1]


def train_args(photos, out, *extra):
    return ["train", "--model", "s2dnet", "--width", "8", "--data", str(photos), "--out", str(out),
            "--patch", "32", "--batch", "2", "--checkpoint-every", "1", *extra]  # fmt: skip


def test_two_steps_make_the_run_folder(photos, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(photos, out, "--steps", "2")) == 0
    for name in ("config.json", "state.json", "checkpoint.keras", "generator.keras", "log.csv"):
        assert (out / name).is_file(), name
    assert (out / "tensorboard").is_dir()
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "s2dnet" and config["steps"] == 2 and config["model_kwargs"] == {"width": 8}
    with open(out / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"loss", "psnr", "val_psnr_q10", "val_psnr_q30"} <= set(rows[0])


def test_the_loss_is_saved_and_kept_on_resume(photos, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(photos, out, "--steps", "1", "--loss", "psnr")) == 0
    assert json.loads((out / "config.json").read_text())["loss"] == "psnr"
    with open(out / "log.csv") as handle:
        assert float(next(csv.DictReader(handle))["loss"]) < 0  # dB, not a squared error
    assert main(train_args(photos, out, "--steps", "2", "--resume")) == 0
    assert json.loads((out / "config.json").read_text())["loss"] == "psnr"
    with pytest.raises(SystemExit):
        main(train_args(photos, tmp_path / "other", "--loss", "l1"))
    assert "invalid choice" in capsys.readouterr().err


def test_resume_continues_from_the_saved_step(photos, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(photos, out, "--steps", "2")) == 0
    assert main(train_args(photos, out, "--steps", "3", "--resume")) == 0
    assert json.loads((out / "state.json").read_text()) == {"epoch": 3, "step": 3}
    with open(out / "log.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1", "2"]


def test_existing_folder_wrong_model_and_bad_data_fail_clearly(photos, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(photos, out, "--steps", "1")) == 0
    before = (out / "checkpoint.keras").read_bytes()
    assert main(train_args(photos, out, "--steps", "1")) == 2
    assert "--resume" in capsys.readouterr().err
    wrong = ["train", "--model", "autoencoder", "--width", "4", "--data", str(photos), "--out", str(out),
             "--steps", "2", "--resume"]  # fmt: skip
    assert main(wrong) == 2
    assert "cannot resume it as 'autoencoder'" in capsys.readouterr().err
    assert (out / "checkpoint.keras").read_bytes() == before
    assert main(train_args(tmp_path / "missing", tmp_path / "run2", "--steps", "1")) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_cifar10_batches_train_a_fixed_size_model(tmp_path):
    import pickle

    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        with open(tmp_path / name, "wb") as handle:
            pickle.dump({b"data": rows}, handle)
    out = tmp_path / "run"
    args = ["train", "--model", "autoencoder-fc", "--width", "4", "--data", f"cifar10:{tmp_path}",
            "--out", str(out), "--patch", "32", "--batch", "2", "--steps", "1"]  # fmt: skip
    assert main(args) == 0
    assert (out / "generator.keras").is_file()


def test_train_from_init_run_with_more_width(photos, tmp_path):
    import keras

    first, wide = tmp_path / "first", tmp_path / "wide"
    assert main(train_args(photos, first, "--steps", "1")) == 0
    assert main(train_args(photos, wide, "--steps", "1", "--width", "12", "--init", str(first))) == 0
    assert json.loads((wide / "config.json").read_text())["model_kwargs"] == {"width": 12}
    generator = keras.models.load_model(wide / "generator.keras")
    assert generator.get_layer("conv_in").get_weights()[0].shape[-1] == 12


def test_train_from_init_run_with_more_blocks(photos, tmp_path, capsys):
    import keras

    first, grown = tmp_path / "first", tmp_path / "grown"
    assert main(train_args(photos, first, "--steps", "1")) == 0
    assert main(train_args(photos, grown, "--steps", "1", "--blocks", "5", "--init", str(first))) == 0
    config = json.loads((grown / "config.json").read_text())
    assert config["init"] == str(first) and config["model_kwargs"] == {"width": 8, "num_blocks": 5}
    generator = keras.models.load_model(grown / "generator.keras")
    assert "block4_conv2" in [layer.name for layer in generator.layers]
    # A resumed run keeps its 5 blocks without being told again.
    resume = ["train", "--model", "s2dnet", "--data", str(photos), "--out", str(grown), "--steps", "2",
              "--resume"]  # fmt: skip
    assert main(resume) == 0
    assert json.loads((grown / "config.json").read_text())["model_kwargs"] == {"width": 8, "num_blocks": 5}

    assert main(train_args(photos, tmp_path / "bad", "--steps", "1", "--init", str(photos))) == 2
    assert "--init needs shipped:NAME, a run folder or a .keras generator" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    blockcnn = ["train", "--model", "blockcnn", "--blocks", "2", "--data", str(photos), "--out",
                str(tmp_path / "b")]  # fmt: skip
    assert main(blockcnn) == 2
    assert "--blocks applies to s2dnet only" in capsys.readouterr().err


def test_the_validation_split_follows_split_seed_not_seed(photos, tmp_path, monkeypatch):
    import unjpeg.baselines.training_loop
    from unjpeg.data.datasets import split_by_image, training_sets

    paths = sorted(photos.iterdir())
    other = next(
        s for s in range(2, 50) if split_by_image(paths, 0.1, s)[1] != split_by_image(paths, 0.1, 1)[1]
    )
    validation = []

    def recording_sets(spec, patch, val_fraction, seed):
        train_set, val_set = training_sets(spec, patch, val_fraction, seed)
        validation.append(val_set.names)
        return train_set, val_set

    monkeypatch.setattr(unjpeg.baselines.training_loop, "training_sets", recording_sets)
    runs = {"base": [], "seed": ["--seed", str(other)], "split": ["--split-seed", str(other)]}
    for name, extra in runs.items():
        assert main(train_args(photos, tmp_path / name, "--steps", "1", *extra)) == 0
    assert validation[0] == validation[1] != validation[2]
    config = json.loads((tmp_path / "seed" / "config.json").read_text())
    assert config["seed"] == other and config["split_seed"] == 1

    # A stage started from the "split" run with --init keeps that run's validation images.
    stage = train_args(photos, tmp_path / "stage", "--steps", "1", "--init", str(tmp_path / "split"))
    assert main(stage) == 0
    assert validation[3] == validation[2]
    assert json.loads((tmp_path / "stage" / "config.json").read_text())["split_seed"] == other


def config_of(out) -> dict:
    return json.loads((out / "config.json").read_text())


def test_resume_keeps_quality_grid_offsets_and_checkpoint_every(photos, tmp_path):
    out = tmp_path / "run"
    first = train_args(photos, out, "--steps", "2", "--quality", "30", "--grid-offsets")
    first[first.index("--checkpoint-every") + 1] = "2"
    assert main(first) == 0
    resume = [
        "train",
        "--model",
        "s2dnet",
        "--data",
        str(photos),
        "--out",
        str(out),
        "--steps",
        "4",
        "--resume",
    ]
    assert main(resume) == 0
    config = config_of(out)
    assert (
        config["quality"] == [30, 30] and config["grid_offsets"] is True and config["checkpoint_every"] == 2
    )
    assert (config["patch"], config["batch"], config["steps"]) == (32, 2, 4)
    with open(out / "log.csv") as handle:
        assert [row["step"] for row in csv.DictReader(handle)] == ["2", "4"]  # every 2, as saved
    # Told otherwise, the resumed run follows the command line.
    assert main([*resume[:-3], "--steps", "5", "--quality", "20", "--no-grid-offsets", "--resume"]) == 0
    assert config_of(out)["quality"] == [20, 20] and config_of(out)["grid_offsets"] is False


def test_precision_is_saved_logged_and_kept_on_resume(photos, tmp_path, capsys, caplog):
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO):
        assert main(train_args(photos, out, "--steps", "1", "--precision", "bfloat16")) == 0
    assert "precision: bfloat16 (asked for bfloat16)" in caplog.text
    assert config_of(out)["precision"] == "bfloat16"
    generator = keras.models.load_model(out / "generator.keras")
    assert {layer.dtype_policy.name for layer in generator.layers} == {"float32"}
    resume = [*train_args(photos, out, "--steps", "2"), "--resume"]
    with caplog.at_level(logging.INFO):
        assert main(resume) == 0
    assert "precision: bfloat16 (kept from the run being resumed)" in caplog.text
    assert config_of(out)["precision"] == "bfloat16"
    assert main([*resume, "--precision", "float32"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"unjpeg train: error: {out}: this run has precision='bfloat16', cannot resume it with precision='float32'"
    ]


def test_auto_precision_follows_the_cpu_flags(monkeypatch):
    from unjpeg.baselines import precision

    from unjpeg import train_cli

    monkeypatch.setattr(precision, "read_cpuinfo", lambda: "flags\t: fpu avx512f avx512_bf16\n")
    assert train_cli.chosen_precision(None, resume=False, saved={}).name == "bfloat16"
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: "flags\t: fpu avx2\n")
    assert train_cli.chosen_precision("auto", resume=True, saved={}).name == "float32"
    assert train_cli.chosen_precision(None, resume=True, saved={}) is None  # the run's own


@pytest.mark.slow
def test_a_redirected_log_shows_progress_without_colour_codes(photos, tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "unjpeg.cli", *train_args(photos, out, "--steps", "3")]
    with open(tmp_path / "log.txt", "w") as log_file:
        result = subprocess.run(argv, stdout=log_file, stderr=subprocess.STDOUT, timeout=300, cwd=ROOT)
    text = (tmp_path / "log.txt").read_text()
    assert result.returncode == 0, text[-2000:]
    assert "\x1b" not in text and "step 3/3" in text and "precision: " in text
