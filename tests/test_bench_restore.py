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

from tests.helpers import randomised, saved_tiny_s2dnet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_restore  # noqa: E402

from unjpeg.files import FileOptions, file_tables, restore_path  # noqa: E402
from unjpeg.sources import Restorer  # noqa: E402

PHASES = ("decode", "model", "blending", "consistency", "encode_write")


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
    parts = sum(phases[key] for key in ("decode", "model", "blending", "consistency", "encode_write"))
    assert parts == pytest.approx(phases["total"]) and phases["total"] == inference["seconds"]
    assert phases["consistency"] > 0  # the photo is a JPEG, so its output is projected
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


def test_timed_model_passes_the_tables_through():
    timed = bench_restore.TimedModel(lambda batch, tables: batch * tables[:, :1, None, None])
    batch, tables = np.ones((2, 8, 5, 3), np.float32), np.full((2, 128), 0.5, np.float32)
    np.testing.assert_array_equal(timed(batch, tables), batch * 0.5)
    assert timed.pixels == 2 * 8 * 5


def photo_pair(folder: Path) -> tuple[Path, Path]:
    """The 64×48 synthetic JPEG and the same pixels as a PNG."""
    jpeg, png = folder / "photo.jpg", folder / "photo.png"
    bench_restore.synthetic_photo(jpeg, 64, 48)
    with Image.open(jpeg) as opened:
        opened.save(png)
    return jpeg, png


@pytest.mark.parametrize("conditioned", [False, True])
def test_phases_write_what_unjpeg_restore_writes(tmp_path, conditioned):
    """Same pixels as `files.restore_path` (so the projection ran), and a conditioned model gets the
    file's own tables on a JPEG and blind zeros on a PNG, as `unjpeg restore` gives them."""
    jpeg, png = photo_pair(tmp_path)
    seen = []

    def stand_in(batch, *tables):  # the output depends on the tables, so a wrong vector changes pixels
        seen.extend(tables)
        return batch * 0.9 + (tables[0].mean(axis=1)[:, None, None, None] if tables else 0.05)

    timed = bench_restore.TimedModel(stand_in)
    restorer = Restorer("stand-in", timed, conditioned=conditioned)
    for image in (jpeg, png):
        target, expected = (
            tmp_path / f"{image.suffix[1:]}.bench.png",
            tmp_path / f"{image.suffix[1:]}.cli.png",
        )
        seen.clear()
        bench_restore.restore_phases(restorer, timed, image, target)
        if conditioned:
            assert file_tables(jpeg).any() and seen
            for tables in seen:
                np.testing.assert_array_equal(tables, np.broadcast_to(file_tables(image), tables.shape))
        else:
            assert not seen
        restore_path(restorer, image, expected, FileOptions())
        np.testing.assert_array_equal(np.asarray(Image.open(target)), np.asarray(Image.open(expected)))


def test_consistency_is_a_phase_of_jpeg_inputs_only(tmp_path):
    jpeg, png = photo_pair(tmp_path)
    timed = bench_restore.TimedModel(lambda batch: batch * 0.9 + 0.05)
    restorer = Restorer("stand-in", timed)
    for image in (jpeg, png):
        phases = bench_restore.restore_phases(restorer, timed, image, tmp_path / f"{image.suffix[1:]}.png")
        assert min(phases.values()) >= 0 and timed.pixels == 64 * 48
        assert sum(phases[key] for key in PHASES) == pytest.approx(phases["total"], rel=1e-9)
        if image == jpeg:
            assert phases["consistency"] > 0
        else:
            assert phases["consistency"] == 0  # project_onto_file leaves a PNG alone


def test_worker_times_a_conditioned_model(tmp_path, capsys):
    from unjpeg.baselines.models import build_model

    model = randomised(build_model("s2dnet", width=8, conditioned=True), scale=0.05)
    path = tmp_path / "conditioned.keras"
    model.save(path)
    jpeg, _ = photo_pair(tmp_path)
    assert bench_restore.main([str(path), str(jpeg), "--repeats", "1", "--matmul", "64"]) == 0
    result = json.loads(capsys.readouterr().out)
    phases = result["phases"]
    assert all(np.isfinite(phases[key]) and phases[key] >= 0 for key in (*PHASES, "total", "startup_load"))
    assert phases["model"] > 0 and phases["consistency"] > 0
    assert result["compute"]["processed_per_image_pixel"] == 1.0  # one window: the image is under a tile
    assert result["compute"]["flops_per_pixel"] > 0  # baselines.flops traces the tables input too


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
