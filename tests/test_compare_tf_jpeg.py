"""scripts/compare_tf_jpeg.py on two tiny images: the accurate IDCT is bit-identical to Pillow, the default is not."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import compare_tf_jpeg  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    """A 47×33 RGB and a 56×40 gray PNG: smooth waves plus noise, odd sides so edge blocks are partial."""
    rng = np.random.default_rng(0)
    for name, (height, width, channels) in {"rgb.png": (33, 47, 3), "gray.png": (40, 56, 1)}.items():
        y, x = np.mgrid[0:height, 0:width]
        wave = (128 + 60 * np.sin(x / 5) * np.cos(y / 7))[..., None]
        pixels = np.clip(wave + rng.normal(0, 20, (height, width, channels)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(tmp_path / name)
    return tmp_path


def run(folder: Path, out: Path, *options: str) -> list[dict]:
    assert compare_tf_jpeg.main([str(folder), "--qualities", "10,90", "--out", str(out), *options]) == 0
    return json.loads(out.read_text())["rows"]


def test_accurate_idct_is_bit_identical_to_pillow(folder, tmp_path, capsys):
    rows = run(folder, tmp_path / "accurate.json")
    assert [row["quality"] for row in rows] == [10, 90]
    for row in rows:
        assert row["images"] == 2 and row["identical_images"] == 2
        assert row["max_abs_diff"] == 0 and row["mean_abs_diff"] == 0.0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["quality", "images", "identical", "max", "|diff|", "mean", "|diff|"]
    assert [line.split()[:4] for line in printed[1:]] == [["10", "2", "2", "0"], ["90", "2", "2", "0"]]


def test_default_idct_differs_by_a_few_levels(folder, tmp_path):
    rows = run(folder, tmp_path / "default.json", "--dct-method", "")
    for row in rows:
        assert row["identical_images"] < row["images"] == 2
        # data/jpeg.py documents "up to 4 levels" for TensorFlow's default decoder.
        assert 0 < row["max_abs_diff"] <= 4 and 0 < row["mean_abs_diff"] < 2


def test_zero_max_images_is_refused(folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        compare_tf_jpeg.main([str(folder), "--max-images", "0", "--out", str(tmp_path / "x.json")])
    assert "--max-images must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_max_images_limits_the_count(folder, tmp_path):
    rows = run(folder, tmp_path / "one.json", "--max-images", "1")
    assert [row["images"] for row in rows] == [1, 1]


def test_folder_without_images_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(FileNotFoundError, match="no images found"):
        compare_tf_jpeg.main([str(tmp_path), "--out", str(tmp_path / "out.json")])
    assert not (tmp_path / "out.json").exists()
