import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from unjpeg.data import consistency
from unjpeg.data.consistency import project_image, project_tile, project_ycbcr
from unjpeg.data.jpeg_dct import forward_dct, rgb_to_ycbcr
from unjpeg.data.jpeg_file import read_jpeg, upright
from unjpeg.data.jpeg_sampling import take_down

from tests.jpeg_helpers import encoder_ycbcr, pattern, pillow_ycbcr, save

PATTERN_440 = Path(__file__).parent / "data" / "jpeg" / "pattern_440_q60.jpg"
SUBSAMPLINGS = ["4:4:4", "4:2:2", "4:2:0"]


def decoded(path):
    """Pillow's RGB (or L) decode as float32 [0, 1], (H, W, 3) or (H, W)."""
    with Image.open(path) as image:
        return np.asarray(image).astype(np.float32) / 255


def interval_excess(planes, record):
    """Largest |DCT / q - c| - 1/2 over all coded coefficients of (H, W, C) levels: <= 0 when consistent."""
    worst = -0.5
    for index, component in enumerate(record.components):
        low = take_down(planes[..., index], *record.subsampling(index))
        rows, cols = component.coefficients.shape[:2]
        ratio = forward_dct(low)[:rows, :cols] / component.quant_table
        worst = max(worst, float(np.abs(ratio - component.coefficients).max()) - 0.5)
    return worst


@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
def test_original_lies_in_the_intervals(tmp_path, subsampling):
    image = pattern(38, 54)  # even but not whole MCUs: the encoder's edge padding matters
    record = read_jpeg(save(tmp_path, "a.jpg", image, quality=60, subsampling=subsampling))
    assert interval_excess(encoder_ycbcr(image), record) < 0.1  # the encoder's 8-bit rounding


@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
def test_random_image_lands_in_the_intervals(tmp_path, subsampling):
    record = read_jpeg(save(tmp_path, "a.jpg", pattern(48, 64), quality=50, subsampling=subsampling))
    noise = np.random.default_rng(1).uniform(0, 255, (48, 64, 3)).astype(np.float32)
    assert interval_excess(noise, record) > 1  # far outside before
    projected = project_ycbcr(noise, record, chroma="delta")
    assert interval_excess(projected, record) < 1e-3  # luma exact; chroma exact in its taken-down plane
    if subsampling != "4:4:4":
        assert interval_excess(project_ycbcr(noise, record, chroma="replace"), record) > 0.01


@pytest.mark.parametrize("subsampling", SUBSAMPLINGS)
def test_decoded_jpeg_is_nearly_a_fixed_point(tmp_path, subsampling):
    path = save(tmp_path, "a.jpg", pattern(37, 53), quality=50, subsampling=subsampling)
    jpeg = decoded(path)
    # Within rounding: Pillow's decode rounds to 8-bit RGB, and its triangle-upsampled 4:2:x chroma is seen
    # slightly smoothed by the box mean. The odd size puts partial blocks, with padding to re-estimate, on
    # both edges.
    change = np.abs(project_image(jpeg, read_jpeg(path)) - jpeg).max() * 255
    assert change < 0.5


def test_projection_brings_a_blurred_image_closer_to_the_original(tmp_path):
    image = pattern(69, 83)
    path = save(tmp_path, "a.jpg", image, quality=30, subsampling="4:2:0")
    with Image.open(path) as opened:
        blurred = np.asarray(opened.filter(ImageFilter.GaussianBlur(2))).astype(np.float32) / 255
    projected = project_image(blurred, read_jpeg(path))
    truth = encoder_ycbcr(image)
    error_before = ((rgb_to_ycbcr(blurred * 255) - truth) ** 2).mean(axis=(0, 1))
    error_after = ((rgb_to_ycbcr(projected * 255) - truth) ** 2).mean(axis=(0, 1))
    # Non-expansive towards any consistent image; chroma gains less, its full-resolution noise is not coded.
    assert error_after[0] < 0.9 * error_before[0] and np.all(error_after < error_before)


@pytest.mark.parametrize(("subsampling", "cuts"), [("4:2:0", (32, 48)), ("4:4:4", (24, 40))])
def test_tiles_equal_the_whole_image(tmp_path, subsampling, cuts):
    path = save(tmp_path, "a.jpg", pattern(69, 83), quality=40, subsampling=subsampling)
    record = read_jpeg(path)
    restored = np.random.default_rng(2).uniform(0, 1, (69, 83, 3)).astype(np.float32)
    whole = project_tile(restored, record)
    down, across = cuts
    for rows in (slice(0, down), slice(down, 69)):
        for cols in (slice(0, across), slice(across, 83)):
            tile = project_tile(restored[rows, cols], record, rows.start, cols.start)
            np.testing.assert_allclose(tile, whole[rows, cols], atol=1e-5)


def test_strips_equal_one_tile(tmp_path, monkeypatch):
    record = read_jpeg(PATTERN_440)  # 4:4:0: an 8-wide, 16-tall MCU
    restored = np.random.default_rng(3).uniform(0, 1, (record.height, record.width, 3)).astype(np.float32)
    monkeypatch.setattr(consistency, "STRIP_ROWS", 16)
    np.testing.assert_allclose(project_image(restored, record), project_tile(restored, record), atol=1e-5)


def test_off_grid_tile_is_refused(tmp_path):
    record = read_jpeg(save(tmp_path, "a.jpg", pattern(69, 83), quality=40, subsampling="4:2:0"))
    tile = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="MCU grid"):
        project_tile(tile, record, top=8)
    with pytest.raises(ValueError, match="MCU grid"):
        project_tile(tile[:10], record)  # ends off the grid before the image's edge
    with pytest.raises(ValueError, match="component"):
        project_tile(tile[..., :1], record)
    with pytest.raises(ValueError, match="chroma"):
        project_tile(tile, record, chroma="nearest")


def test_grayscale_and_uint8(tmp_path):
    path = save(tmp_path, "g.jpg", pattern(37, 53, channels=1), quality=30)
    record = read_jpeg(path)
    noise = np.random.default_rng(4).integers(0, 256, (37, 53), dtype=np.uint8)
    flat = project_tile(noise, record)
    assert flat.shape == (37, 53) and flat.dtype == np.float32
    np.testing.assert_allclose(project_tile(noise[..., None], record)[..., 0], flat)
    np.testing.assert_allclose(project_tile(noise.astype(np.float32) / 255, record), flat, atol=1e-5)
    assert (
        np.abs(flat * 255 - pillow_ycbcr(path)[..., 0]).mean()
        < np.abs(noise - pillow_ycbcr(path)[..., 0]).mean()
    )


def test_upright_image_is_projected_in_the_files_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored pixels are shown turned a quarter clockwise
    path = save(tmp_path, "a.jpg", pattern(37, 53), quality=40, subsampling="4:2:0", exif=exif.tobytes())
    record = read_jpeg(path)
    stored = np.random.default_rng(5).uniform(0, 1, (37, 53, 3)).astype(np.float32)
    shown = upright(stored, 6)
    assert shown.shape == (53, 37, 3)
    expected = upright(project_image(stored, record, is_upright=False), 6)
    np.testing.assert_allclose(project_image(shown, record), expected, atol=1e-6)
    in_place = shown.copy()
    assert project_image(in_place, record, in_place=True) is in_place
    np.testing.assert_allclose(in_place, expected, atol=1e-6)


def test_needs_no_tensorflow():
    code = "import sys, unjpeg.data.consistency; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_project_onto_file(tmp_path):
    path = save(tmp_path, "a.jpg", pattern(37, 53), quality=40, subsampling="4:2:0")
    restored = np.random.default_rng(6).uniform(0, 1, (37, 53, 3)).astype(np.float32)
    expected = project_image(restored, read_jpeg(path))
    projected, note = consistency.project_onto_file(restored, path)
    assert projected is restored and "projected" in note and not note.startswith("not")
    np.testing.assert_allclose(projected, expected, atol=1e-6)
    png = tmp_path / "a.png"
    Image.fromarray(pattern(37, 53)).save(png)
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(pattern(37, 53)).convert("CMYK").save(cmyk)
    for other, reason in ((png, "not a JPEG"), (cmyk, "CMYK"), (path, "size")):
        image = np.zeros((37, 52, 3), np.float32) if other == path else restored.copy()
        unchanged, note = consistency.project_onto_file(image, other)
        assert note.startswith("not") and reason in note and "\n" not in note
        np.testing.assert_array_equal(unchanged, image)
