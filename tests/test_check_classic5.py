"""scripts/check_classic5.py on tiny crops of the Classic5 baboon: the protocol's scores and the pass/fail rule."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.data.jpeg import jpeg_roundtrip_uint8
from unjpeg.losses.metrics import psnr, psnr_b, ssim

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import check_classic5  # noqa: E402

BABOON = Path(__file__).parent / "data" / "classic5" / "baboon.bmp"


@pytest.fixture
def gray_folder(tmp_path):
    """Two gray crops of the baboon, 64×48 (BMP) and 48×48 (PNG), plus a file the script must skip."""
    baboon = np.asarray(Image.open(BABOON).convert("L"))
    folder = tmp_path / "gray"
    folder.mkdir()
    Image.fromarray(baboon[100:148, 200:264]).save(folder / "a.bmp")
    Image.fromarray(baboon[300:348, 40:88]).save(folder / "b.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def expected_scores(folder: Path, quality: int, mode: str) -> dict[str, dict[str, float]]:
    """The protocol worked out with data.jpeg and losses.metrics directly (4:2:0 for colour)."""
    scores = {}
    for name in ("a.bmp", "b.png"):
        image = np.asarray(Image.open(folder / name).convert(mode))
        image = image[:, :, None] if image.ndim == 2 else image
        compressed = jpeg_roundtrip_uint8(image, quality)
        scores[name] = {
            "psnr": psnr(image, compressed),
            "ssim": ssim(image, compressed),
            "psnr_b": psnr_b(image, compressed),
        }
    return scores


def test_scores_follow_the_metric_protocol(gray_folder, tmp_path, capsys):
    out = tmp_path / "report" / "classic5.json"
    code = check_classic5.main(["--data", str(gray_folder), "--qualities", "10", "25", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["dataset"] == "classic5" and report["folder"] == str(gray_folder)
    assert [row["quality"] for row in report["rows"]] == [10, 25]
    for row in report["rows"]:
        expected = expected_scores(gray_folder, row["quality"], "L")
        assert sorted(row["per_image"]) == ["a.bmp", "b.png"]
        for name, scores in expected.items():
            assert row["per_image"][name] == pytest.approx(scores, abs=1e-9)
        for metric in check_classic5.METRICS:
            mean = np.mean([scores[metric] for scores in expected.values()])
            assert row["ours"][metric] == pytest.approx(mean, abs=1e-9)
    q10, q25 = report["rows"]
    # Two 48-px crops of one image are not the 512-px Classic5 set: QF 10 is compared and fails; QF 25 has
    # no published row, so it is shown but not judged.
    published = check_classic5.CLASSIC5_PUBLISHED[10]
    assert q10["published"] == dict(zip(check_classic5.METRICS, published, strict=True))
    assert q10["ok"] is False and code == 1
    assert "ok" not in q25 and "published" not in q25
    printed = capsys.readouterr().out
    assert printed.startswith("classic5 (2 images, gray), ours vs published")
    assert " 10 | " in printed and " 25 | " in printed and "| NO" in printed
    assert "MISMATCH against the published table" in printed


@pytest.mark.parametrize("offset, code", [(0.0, 0), (0.03, 1)])
def test_a_row_passes_within_half_a_decimal_plus_tolerance(gray_folder, monkeypatch, capsys, offset, code):
    """With the published row set to our own rounded means, the check passes; 0.03 dB off, it fails."""
    expected = expected_scores(gray_folder, 20, "L")
    means = [np.mean([s[m] for s in expected.values()]) for m in check_classic5.METRICS]
    published = (round(means[0] + offset, 2), round(means[1], 3), round(means[2], 2))
    monkeypatch.setitem(check_classic5.CLASSIC5_PUBLISHED, 20, published)
    assert check_classic5.main(["--data", str(gray_folder), "--qualities", "20"]) == code
    printed = capsys.readouterr().out
    assert ("all rows match" in printed) == (code == 0)


def test_tolerance_is_half_the_last_decimal_plus_a_margin():
    assert check_classic5.tolerance("psnr", 3) == pytest.approx(0.005 + 0.01)
    assert check_classic5.tolerance("psnr_b", 4) == pytest.approx(0.005 + 0.01)
    assert check_classic5.tolerance("ssim", 3) == pytest.approx(0.0005 + 0.001)
    assert check_classic5.tolerance("ssim", 4) == pytest.approx(0.00005 + 0.001)


def test_color_protocol_uses_rgb_with_420_subsampling(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "rgb"
    folder.mkdir()
    for name in ("a.bmp", "b.png"):
        y, x = np.mgrid[0:40, 0:48]
        waves = np.stack([np.sin(x / 4), np.cos(y / 3), np.sin((x + y) / 6)], axis=-1)
        pixels = 128 + 80 * waves + rng.normal(0, 10, waves.shape)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / name)
    out = tmp_path / "cbsd68.json"
    check_classic5.main(["--color", "--data", str(folder), "--qualities", "30", "--out", str(out)])
    (row,) = json.loads(out.read_text())["rows"]
    expected = expected_scores(folder, 30, "RGB")
    for name, scores in expected.items():
        assert row["per_image"][name] == pytest.approx(scores, abs=1e-9)
    assert row["published"]["ssim"] == check_classic5.CBSD68_PUBLISHED[30][1]


def test_load_images_converts_to_the_protocol_channels(gray_folder):
    gray = check_classic5.load_images(gray_folder, color=False)
    assert {name: image.shape for name, image in gray.items()} == {"a.bmp": (48, 64, 1), "b.png": (48, 48, 1)}
    colour = check_classic5.load_images(gray_folder, color=True)
    assert colour["a.bmp"].shape == (48, 64, 3)
    np.testing.assert_array_equal(colour["a.bmp"][:, :, 1], gray["a.bmp"][:, :, 0])


def test_folder_without_images_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no images in"):
        check_classic5.main(["--data", str(tmp_path)])
