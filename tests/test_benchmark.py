"""scripts/benchmark.py on a tiny s2dnet: every section in the JSON, with positive numbers."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from unjpeg.baselines.models import build_model

from tests.helpers import saved_tiny_s2dnet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import benchmark  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A width-8 s2dnet with random weights (a fresh one is the identity, which hides export errors)."""
    return str(saved_tiny_s2dnet(tmp_path_factory.mktemp("model"))[1])


@pytest.mark.slow  # one TensorFlow subprocess per model and size
def test_quick_run_writes_every_section(tiny, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert benchmark.main(["--quick", "--sizes", "128,96x64", "--models", tiny, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1 and result["machine"]["tensorflow"]
    assert result["machine"]["cpu"] and isinstance(result["machine"]["cpu_flags"], list)
    rows = [(r["image"], r["precision"]) for r in result["inference"]]
    assert rows == [(image, p) for image in ("128×128", "96×64") for p in ("float32", "bfloat16")]
    for row in result["inference"]:
        assert "error" not in row, row
        assert row["seconds"] > 0 and row["mp_per_s"] > 0 and row["peak_rss_mb"] >= row["rss_loaded_mb"] > 0
        assert row["phases"]["startup_load"] > 0 and row["phases"]["total"] == row["seconds"]
        assert row["phases"]["consistency"] > 0  # the synthetic photo is a JPEG: its output is projected
        share = 100 * row["phases"]["consistency"] / row["seconds"]
        assert row["consistency_percent"] == pytest.approx(share) and 0 < share < 100
    for row in result["compute"]:
        assert row["flops_per_pixel"] > 0 and row["ceiling_gflops"] > 0 and row["fraction_of_ceiling"] > 0
        assert row["ceiling_gflops"] == row[f"ceiling_{row['precision']}_gflops"]  # its own precision's
        assert row["processed_per_image_pixel"] == 1.0  # one window: the image is under a tile
    f32, bf16 = result["training"]
    assert (f32["generator"], f32["model_kwargs"], f32["precision"]) == ("s2dnet", {"width": 8}, "float32")
    assert f32["l2_s_per_100"] > 0 and f32["gan_s_per_100"] > 0 and f32["patch"] == 64
    assert bf16["precision"] == "bfloat16" and ("error" in bf16 or bf16["l2_s_per_100"] > 0)
    exports = {row["format"]: row for row in result["exports"]}
    for export_format in ("keras", "savedmodel", "onnx"):
        assert exports[export_format]["seconds"] > 0, exports[export_format]
        assert exports[export_format]["max_abs_diff"] < 1e-4
    printed = capsys.readouterr().out
    titles = (
        "machine:",
        "inference:",
        "float32 against bfloat16",
        "where a restore's time goes",
        "compute rate:",
        "JPEG consistency:",
    )
    for title in (*titles, "training:", "exports of"):
        assert title in printed


def test_consistency_table_shows_seconds_and_percent_of_the_restore():
    rows = [
        {"model": "m", "image": "4000×3000", "precision": "float32", "seconds": 20.0},
        {"model": "m", "image": "4000×3000", "precision": "bfloat16", "error": "no bfloat16"},
    ]
    rows[0].update(phases={"consistency": 1.5, "total": 20.0}, consistency_percent=7.5)
    title, _, header, first, *rest = benchmark.consistency_table(rows).splitlines()
    assert "at most 10 %" in title and "consistency/restore %" in header
    assert first.split() == ["m", "4000×3000", "float32", "20", "1.5", "7.5"]
    assert rest == []  # a failed run has no phases to show


def test_missing_model_fails_before_any_run(tmp_path, capsys):
    assert benchmark.main(["--quick", "--models", str(tmp_path / "none.keras")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_architecture_recovers_the_builder_arguments():
    assert benchmark.architecture(build_model("s2dnet")) == ("s2dnet", {})
    assert benchmark.architecture(build_model("blockcnn", width=8)) == ("blockcnn", {"width": 8})
    grown = build_model("s2dnet", width=8, num_blocks=2)
    assert benchmark.architecture(grown) == ("s2dnet", {"width": 8, "num_blocks": 2})
    conditioned = build_model("s2dnet", width=8, num_blocks=2, conditioned=True)
    assert benchmark.architecture(conditioned) == (
        "s2dnet",
        {"width": 8, "num_blocks": 2, "conditioned": True},
    )
    with pytest.raises(ValueError, match="cannot tell"):
        benchmark.architecture(build_model("autoencoder", width=8, depth=3))


def test_parse_size():
    assert benchmark.parse_size("512") == (512, 512)
    assert benchmark.parse_size("12MP") == (4000, 3000)
    assert benchmark.parse_size("96x64") == (96, 64)


def test_timed_model_counts_the_tile_context():
    from bench_restore import OVERLAP, TILE, TimedModel

    from unjpeg.tiling import restore_image

    timed = TimedModel(lambda batch: batch)
    restore_image(timed, np.zeros((8, 1000, 3), np.float32), TILE, OVERLAP)
    # Windows [0, 512 + 32) and [512 - 32, 1000) of one 8-px row: 544 + 520 px.
    assert timed.pixels == 8 * (544 + 520) and timed.seconds > 0
