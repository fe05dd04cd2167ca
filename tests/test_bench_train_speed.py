"""scripts/bench_train_speed.py: one s2dnet row (32 px, batch 2, best of 2 × 1 step); the timing rule on a stub."""

import json
import sys
import time
from pathlib import Path

import pytest
from unjpeg.baselines.models import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_train_speed  # noqa: E402


def test_s2dnet_row_table_and_json(tmp_path, capsys):
    out = tmp_path / "speed.json"
    argv = ["--models", "s2dnet", "--patch", "32", "--batch", "2", "--warmup", "1", "--steps", "1"]
    bench_train_speed.main([*argv, "--repeats", "2", "--precision", "bfloat16", "--out", str(out)])
    result = json.loads(out.read_text())
    settings = {key: result[key] for key in ("patch", "batch", "warmup", "steps", "repeats", "precision")}
    assert settings == {
        "patch": 32,
        "batch": 2,
        "warmup": 1,
        "steps": 1,
        "repeats": 2,
        "precision": "bfloat16",
    }
    assert result["cpus"] >= 1
    (row,) = result["rows"]
    l2, gan, ratio = row["l2_s_per_100"], row["gan_s_per_100"], row["ratio"]
    assert (
        row["model"] == "s2dnet" and row["precision"] == "bfloat16" and l2 > 0 and gan > 0
    )  # no order: one timed step is noisy
    # The ratio comes from the unrounded timings, which lie within 0.05 of the printed ones.
    assert (gan - 0.05) / (l2 + 0.05) - 0.005 <= ratio <= (gan + 0.05) / (l2 - 0.05) + 0.005
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == f"patch 32, batch 2, best of 2 × 1 timed steps after 1, {result['cpus']} CPUs, bfloat16"
    )
    assert lines[1].split() == ["model", "L2", "s/100", "GAN", "s/100", "GAN/L2"]
    assert lines[2].split() == ["s2dnet", str(l2), str(gan), str(ratio)]


class StubModel:
    """Records `fit`'s steps; each call sleeps `per_step[i]` seconds per step."""

    def __init__(self, per_step):
        self.per_step, self.fits = iter(per_step), []

    def fit(self, dataset, steps_per_epoch, epochs, verbose, shuffle):
        assert (epochs, verbose, shuffle) == (1, 0, False)
        self.fits.append(steps_per_epoch)
        time.sleep(next(self.per_step) * steps_per_epoch)


def test_seconds_per_100_keeps_the_fastest_repeat_after_warmup():
    model = StubModel([0.05, 0.01, 0.002, 0.006])  # warm-up, then three timed repeats
    seconds = bench_train_speed.seconds_per_100(model, None, warmup=1, steps=2, repeats=3)
    assert model.fits == [1, 2, 2, 2]
    assert 0.2 <= seconds < 0.6  # the 2 ms/step repeat scaled to 100 steps; slower ones would be ≥ 0.6


def test_default_models_are_all_builders():
    assert set(bench_train_speed.DEFAULT_MODELS) <= set(MODELS)


def test_unknown_model_fails_before_writing(tmp_path, capsys):
    out = tmp_path / "speed.json"
    with pytest.raises(SystemExit) as stop:
        bench_train_speed.main(["--models", "s2dnet", "nope", "--out", str(out)])
    assert stop.value.code == 2
    assert "unknown model(s) nope" in capsys.readouterr().err
    assert not out.exists()


def test_a_conditioned_generator_trains_with_a_tables_input():
    kwargs = {"width": 8, "num_blocks": 1, "conditioned": True}
    l2, gan = bench_train_speed.l2_and_gan_seconds("s2dnet", 32, 2, 1, 1, 1, model_kwargs=kwargs)
    assert l2 > 0 and gan > 0
