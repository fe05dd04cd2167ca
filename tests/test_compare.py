"""`unjpeg compare` on a temporary folder of small smooth images, with a tiny s2dnet (width 8)."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unjpeg import compare as compare_module
from unjpeg.cli import main
from unjpeg.report import FIGURES

METRICS = ("psnr", "psnr_y", "ssim", "psnr_b", "lpips")
SHARPNESS = {"laplacian_var_ratio", "gradient_ratio", "hf_energy_ratio", "blur_effect"}
DELTAS = ("delta_psnr", "delta_lpips", "worst_delta_psnr")
CONDITION = ("quality", "subsampling", "double", "consistency")
ROW_KEYS = {"model", *CONDITION, "n_images", *METRICS, *DELTAS, "sharpness", "images"}


def smooth_image(height: int, width: int, seed: int) -> np.ndarray:
    """(H, W, 3) uint8: colour gradients, a disc and a bar, so JPEG leaves blocks and ringing."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.stack([x, y, 1 - x * y], axis=-1) * rng.uniform(0.5, 1.0, 3)
    cy, cx = rng.uniform(0.3, 0.7, 2) * (height, width)
    disc = (np.mgrid[0:height, 0:width][0] - cy) ** 2 + (np.mgrid[0:height, 0:width][1] - cx) ** 2 < 150
    image[disc] = rng.uniform(0, 1, 3)
    image[height // 4 : height // 4 + 5, 6:-6] = rng.uniform(0, 1, 3)
    return np.round(image * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    Image.fromarray(smooth_image(64, 80, 0)).save(folder / "a.png")
    Image.fromarray(smooth_image(72, 64, 1)).save(folder / "b.bmp")
    Image.fromarray(smooth_image(64, 80, 2)[..., 1]).save(folder / "gray.png")  # mode L
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A width-8 s2dnet whose zero-initialised output conv gets small random weights, so it differs from
    its input (an untrained s2dnet is exactly the identity)."""
    from unjpeg.baselines.models import build_model

    model = build_model("s2dnet", width=8)
    layer = model.get_layer("conv_out")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(0).normal(0, 0.02, kernel.shape).astype("float32"), bias])
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def report(images, tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "report"
    argv = ["compare", "--model", f"tiny={tiny_model}", "--data", str(images), "--quality", "10,30"]
    assert main([*argv, "--out", str(out)]) == 0
    return out


def test_json_schema(report, images, tiny_model):
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["data"] == str(images)
    assert metrics["qualities"] == [10, 30]
    assert metrics["models"]["tiny"] == str(tiny_model) and "jpeg" in metrics["models"]
    assert [(r["model"], r["quality"]) for r in metrics["rows"]] == [
        ("jpeg", 10), ("tiny", 10), ("jpeg", 30), ("tiny", 30)
    ]  # fmt: skip
    for row in metrics["rows"]:
        assert set(row) == ROW_KEYS
        assert row["n_images"] == 3 and len(row["images"]) == 3
        assert set(row["sharpness"]) == SHARPNESS
        assert {image["name"] for image in row["images"]} == {"a.png", "b.bmp", "gray.png"}
        for image in row["images"]:
            assert set(image) == {"name", *METRICS, "sharpness"} and set(image["sharpness"]) == SHARPNESS
        for key in METRICS:
            assert row[key] == pytest.approx(np.mean([image[key] for image in row["images"]]))
            assert isinstance(row[key], float)
    jpeg10, tiny10, jpeg30, _ = metrics["rows"]
    assert jpeg30["psnr"] > jpeg10["psnr"] > 20  # less compression, less error
    assert jpeg30["lpips"] < jpeg10["lpips"]
    assert tiny10["psnr"] != jpeg10["psnr"]  # the model's output was scored, not its input
    assert tiny10["delta_psnr"] == pytest.approx(tiny10["psnr"] - jpeg10["psnr"])
    assert tiny10["delta_lpips"] == pytest.approx(tiny10["lpips"] - jpeg10["lpips"])
    gains = [t["psnr"] - j["psnr"] for t, j in zip(tiny10["images"], jpeg10["images"], strict=True)]
    assert tiny10["worst_delta_psnr"] == pytest.approx(min(gains))
    assert jpeg10["delta_psnr"] is None and jpeg10["consistency"] is None and tiny10["consistency"] is False
    assert {r["subsampling"] for r in metrics["rows"]} == {"4:2:0"} and metrics["double"] is None


def test_csv_markdown_figures_html(report):
    with open(report / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], r["quality"]) for r in rows] == [
        ("jpeg", "10"),
        ("tiny", "10"),
        ("jpeg", "30"),
        ("tiny", "30"),
    ]
    assert {"psnr", "psnr_y", "ssim", "psnr_b", "lpips", *SHARPNESS, *DELTAS, *CONDITION} <= set(rows[0])
    markdown = (report / "report.md").read_text()
    assert "## Quality 10" in markdown and "## Quality 30" in markdown
    assert re.search(r"\*\*\d+\.\d+\*\*", markdown)  # a best value in bold
    assert "Skipped" not in markdown
    figures = [name for name in FIGURES if (report / name).is_file()]
    assert set(figures) == set(FIGURES)
    page = (report / "index.html").read_text()
    for name in figures:
        assert f"src='{name}'" in page
        assert Image.open(report / name).size[0] > 300
    assert "http" not in page and "<link" not in page and "<script" not in page  # self-contained


def test_self_ensemble_is_used_and_recorded(report, images, tiny_model, tmp_path):
    out = tmp_path / "ensemble"
    argv = ["compare", "--model", f"tiny={tiny_model}", "--data", str(images), "--quality", "10,30"]
    assert main([*argv, "--out", str(out), "--self-ensemble"]) == 0
    ensemble = json.loads((out / "metrics.json").read_text())
    plain = json.loads((report / "metrics.json").read_text())
    assert ensemble["self_ensemble"] is True and plain["self_ensemble"] is False
    assert ensemble["rows"][0] == plain["rows"][0]  # the JPEG row does not change
    assert ensemble["rows"][1]["psnr"] != plain["rows"][1]["psnr"]
    assert "self-ensemble" in (out / "report.md").read_text()
    assert "self-ensemble" in (out / "index.html").read_text()
    assert "self-ensemble" not in (report / "report.md").read_text()


def test_conditions(images, tiny_model, tmp_path, capsys):
    out = tmp_path / "conditions"
    argv = ["compare", "--model", f"tiny={tiny_model}", "--data", str(images), "--quality", "10,95"]
    argv += ["--subsampling", "420,444", "--double", "3,5", "--limit", "2", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    keys = [(r["model"], r["quality"], r["subsampling"], r["double"]) for r in metrics["rows"]]
    assert len(keys) == len(set(keys)) == 2 * 2 * 2 * 2  # rows x qualities x subsamplings x (single, double)
    assert {r["n_images"] for r in metrics["rows"]} == {2}
    assert {r["double"] for r in metrics["rows"]} == {None, "3,5@10", "3,5@95"} and metrics["double"] == "3,5"
    by_key = {key: row for key, row in zip(keys, metrics["rows"], strict=True)}
    jpeg_420, jpeg_444 = by_key["jpeg", 95, "4:2:0", None], by_key["jpeg", 95, "4:4:4", None]
    assert jpeg_444["psnr"] > jpeg_420["psnr"]  # full-resolution chroma loses less
    assert by_key["jpeg", 10, "4:2:0", "3,5@10"]["psnr"] < by_key["jpeg", 10, "4:2:0", None]["psnr"]  # twice
    assert (out / "delta_vs_quality.png").is_file()
    markdown = (out / "report.md").read_text()
    assert "## Quality 95, 4:4:4, after q95 on a grid shifted by 3,5 px" in markdown
    with open(out / "metrics.csv") as handle:
        assert {r["double"] for r in csv.DictReader(handle)} == {"", "3,5@10", "3,5@95"}
    assert "4:4:4" in capsys.readouterr().out


def test_with_and_without_consistency(images, tiny_model, tmp_path):
    out = tmp_path / "consistency"
    argv = ["compare", "--model", f"tiny={tiny_model}", "--data", str(images), "--quality", "30"]
    assert main([*argv, "--consistency", "on,off", "--limit", "2", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(r["model"], r["consistency"]) for r in metrics["rows"]] == [
        ("jpeg", None), ("tiny", True), ("tiny", False)
    ]  # fmt: skip
    jpeg, projected, plain = metrics["rows"]
    assert projected["psnr"] != plain["psnr"]
    assert projected["delta_psnr"] > plain["delta_psnr"] - 0.01  # the file's intervals hold the original
    assert "| tiny+consistency | 2 |" in (out / "report.md").read_text()


def test_bad_condition_flags_stop_before_any_work(images, tmp_path, capsys):
    for flag in (["--subsampling", "411"], ["--double", "8,0"], ["--consistency", "maybe"], ["--limit", "0"]):
        out = tmp_path / "report"
        assert main(["compare", "--data", str(images), "--out", str(out), *flag]) != 0
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
        assert not out.exists()


def test_refuses_non_empty_out_without_force(report, images, capsys):
    before = (report / "metrics.json").stat().st_mtime_ns
    assert main(["compare", "--data", str(images), "--quality", "10", "--out", str(report)]) != 0
    assert "--force" in capsys.readouterr().err
    assert (report / "metrics.json").stat().st_mtime_ns == before


def test_jpeg_row_alone(images, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["compare", "--data", str(images), "--quality", "10,30", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(r["model"], r["quality"]) for r in metrics["rows"]] == [("jpeg", 10), ("jpeg", 30)]
    assert "jpeg" in capsys.readouterr().out  # the terminal table


def test_unknown_source_stops_before_any_work(images, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["compare", "--model", "x=nowhere/model.xyz", "--data", str(images), "--out", str(out)]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere/model.xyz" in err
    assert not out.exists()


def test_model_that_fails_to_load(images, tmp_path, capsys):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip file")
    out = tmp_path / "report"
    assert main(["compare", "--model", f"b={broken}", "--data", str(images), "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "b=" in err
    assert not out.exists()


def test_corrupt_image_is_skipped(images, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.open(images / "a.png").save(folder / "a.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "report"
    metrics = compare_module.compare({}, folder, [20], out, progress=False)
    assert metrics["skipped"][0]["name"] == "broken.png"
    assert metrics["rows"][0]["n_images"] == 1
    markdown = (out / "report.md").read_text()
    assert "## Skipped" in markdown and "broken.png" in markdown.split("## Skipped")[1]


def test_parse_arguments():
    assert compare_module.parse_models(["a=shipped:l2", "b=runs/x"]) == {"a": "shipped:l2", "b": "runs/x"}
    assert compare_module.parse_qualities("30,10, 20") == [10, 20, 30]
    for bad in (["noequals"], ["a=x", "a=y"], ["=x"]):
        with pytest.raises(ValueError):
            compare_module.parse_models(bad)
    for bad in ("10,abc", "0,10", "101"):
        with pytest.raises(ValueError):
            compare_module.parse_qualities(bad)
    with pytest.raises(ValueError, match="jpeg"):
        compare_module.compare({"jpeg": "shipped:l2"}, "nowhere", [10], Path("nowhere-out"))
