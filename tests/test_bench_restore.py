"""scripts/bench_restore.py on a width-8 s2dnet: the worker's JSON line, its arithmetic, and the exports."""

import importlib.util
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.baselines.flops import flops_per_pixel
from unjpeg.baselines.models import build_model

from tests.helpers import saved_tiny_s2dnet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_restore  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A width-8 s2dnet with random weights (a fresh one is the identity), saved as .keras."""
    return saved_tiny_s2dnet(tmp_path_factory.mktemp("model"))


def test_worker_prints_one_json_line_that_adds_up(tiny, tmp_path, capsys):
    model, path = tiny
    # 600 px wide: two tiles, [0, 512 + 32) and [512 - 32, 600), so the model is fed 544 + 120 columns.
    image = tmp_path / "photo.jpg"
    bench_restore.synthetic_photo(image, 600, 16)
    assert bench_restore.main([str(path), str(image), "--repeats", "2", "--matmul", "64"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    inference, compute = result["inference"], result["compute"]
    assert inference["runs"] == 2 and inference["seconds"] > 0
    assert inference["mp_per_s"] == pytest.approx(600 * 16 / 1e6 / inference["seconds"])
    assert inference["peak_rss_mb"] >= inference["rss_loaded_mb"] > 0
    assert compute["flops_per_pixel"] == pytest.approx(flops_per_pixel(model))
    assert compute["processed_per_image_pixel"] == pytest.approx((544 + 120) / 600)
    assert 0 < compute["model_seconds"] <= inference["seconds"]  # model calls happen inside the restore
    flops = compute["flops_per_pixel"]
    achieved = flops * (544 + 120) * 16 / compute["model_seconds"] / 1e9
    assert compute["achieved_gflops"] == pytest.approx(achieved)
    assert compute["wall_gflops"] == pytest.approx(flops * 600 * 16 / inference["seconds"] / 1e9)
    assert compute["matmul_n"] == 64 and compute["ceiling_gflops"] > 0
    assert compute["fraction_of_ceiling"] == pytest.approx(achieved / compute["ceiling_gflops"])
    assert (
        compute["ceiling_gflops"] == compute["ceiling_float32_gflops"]
        and compute["ceiling_bfloat16_gflops"] > 0
    )
    phases = result["phases"]
    parts = phases["decode"] + phases["model"] + phases["blending"] + phases["encode_write"]
    assert parts == pytest.approx(phases["total"]) and phases["total"] == inference["seconds"]
    assert min(phases.values()) >= 0 and phases["startup_load"] > 0 and inference["precision"] == "float32"
    with Image.open(image.with_suffix(".restored.png")) as restored:
        assert restored.size == (600, 16)


def test_synthetic_photo_is_a_deterministic_quality_30_jpeg(tmp_path):
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    bench_restore.synthetic_photo(first, 96, 64)
    bench_restore.synthetic_photo(second, 96, 64)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as photo:
        assert (photo.format, photo.mode, photo.size) == ("JPEG", "RGB", (96, 64))
        tables = photo.quantization
        pixels = np.asarray(photo, np.float32)
    reference = io.BytesIO()
    Image.new("RGB", (8, 8)).save(reference, "JPEG", quality=30)
    assert tables == Image.open(reference).quantization
    assert pixels.std() > 10  # gradients and texture, not a flat image


def test_keras_model_resolves_each_kind_of_source(tiny):
    model, path = tiny
    untrained = bench_restore.keras_model("untrained:s2dnet")
    assert untrained.count_params() == build_model("s2dnet").count_params() > model.count_params()
    loaded = bench_restore.keras_model(str(path))
    for ours, theirs in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert bench_restore.keras_model("model.onnx") is None  # served by load_restorer instead
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        bench_restore.keras_model("untrained:nope")


def test_timed_model_counts_every_image_of_a_batch():
    timed = bench_restore.TimedModel(lambda batch: batch * 2)
    batch = np.ones((3, 8, 5, 3), np.float32)
    np.testing.assert_array_equal(timed(batch), batch * 2)
    timed(batch[:1])
    assert timed.pixels == 4 * 8 * 5 and timed.seconds > 0


def test_best_seconds_runs_each_repeat_and_keeps_the_fastest():
    sleeps = iter([0.03, 0.002, 0.01])
    assert 0.002 <= bench_restore.best_seconds(lambda: time.sleep(next(sleeps)), 3) < 0.01
    with pytest.raises(StopIteration):
        next(sleeps)  # all three were run


def test_exports_are_timed_and_match_the_keras_model(tiny, tmp_path):
    model, _ = tiny
    rows = bench_restore.measure_exports(model, tmp_path, side=32, repeats=1)
    assert [(row["format"], row["runtime"]) for row in rows] == list(bench_restore.RUNTIMES.items())
    required = {"keras", "savedmodel"}  # TensorFlow alone; ONNX needs the `export` extra
    if all(importlib.util.find_spec(module) for module in ("tf2onnx", "onnxruntime")):
        required.add("onnx")
    assert required <= {row["format"] for row in rows if "error" not in row}, rows
    for row in rows:
        if "error" in row:
            continue
        assert row["image"] == "32×32" and row["size_mb"] > 0 and row["seconds"] > 0
        assert row["mp_per_s"] == pytest.approx(32 * 32 / 1e6 / row["seconds"])
        assert row["max_abs_diff"] < 1e-4
        assert (tmp_path / bench_restore.FORMATS[row["format"]]).exists()


def test_worker_runs_the_asked_precision(tiny, tmp_path, capsys):
    image = tmp_path / "photo.jpg"
    bench_restore.synthetic_photo(image, 64, 48)
    argv = [str(tiny[1]), str(image), "--repeats", "1", "--matmul", "64", "--precision", "bfloat16"]
    assert bench_restore.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["inference"]["precision"] == result["compute"]["precision"] == "bfloat16"
    assert result["compute"]["ceiling_gflops"] == result["compute"]["ceiling_bfloat16_gflops"]


def test_matmul_ceiling_in_both_precisions():
    assert bench_restore.matmul_gflops(64, "float32", repeats=1) > 0
    assert bench_restore.matmul_gflops(64, "bfloat16", repeats=1) > 0
