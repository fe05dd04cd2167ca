"""`unjpeg restore` projects a JPEG input's output onto the file's quantization intervals, unless told not to."""

import numpy as np
import pytest
from PIL import Image
from unjpeg.data.consistency import forward_dct, rgb_to_ycbcr
from unjpeg.data.jpeg_file import as_stored, read_jpeg

from tests.helpers import saved_tiny_s2dnet
from tests.jpeg_helpers import pattern, save
from unjpeg.cli import main

TILING = ["--tile", "16", "--overlap", "8"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(saved_tiny_s2dnet(tmp_path_factory.mktemp("model"))[1])


def luma_excess(path, jpeg_path):
    """Largest |DCT / q - c| - 1/2 of the output's luma over the whole blocks, in the file's orientation."""
    jpeg = read_jpeg(jpeg_path)
    with Image.open(path) as image:
        pixels = as_stored(np.asarray(image, np.float32), jpeg.orientation)
    luma = rgb_to_ycbcr(pixels)[..., 0] if pixels.ndim == 3 else pixels
    component = jpeg.components[0]
    rows, cols = jpeg.height // 8, jpeg.width // 8
    ratio = forward_dct(luma[: rows * 8, : cols * 8]) / component.quant_table
    return float(np.abs(ratio - component.coefficients[:rows, :cols]).max() - 0.5)


@pytest.mark.parametrize("orientation", [1, 6])
def test_output_is_consistent_by_default(model, tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    source = save(tmp_path, "a.jpg", pattern(40, 56), quality=30, exif=exif.tobytes())
    for flags, out in (([], "on"), (["--no-consistency"], "off")):
        assert (
            main(["restore", str(source), "-o", str(tmp_path / out), "--model", model, *TILING, *flags]) == 0
        )
    # 8-bit rounding of the output leaves each coefficient a little past its interval's end; the
    # unprojected output of the random model lies well outside (0.97-2.65 over four unseeded ones).
    assert luma_excess(tmp_path / "on" / "a.png", source) < 0.25
    assert luma_excess(tmp_path / "off" / "a.png", source) > 0.5


def test_grayscale_and_png_inputs(model, tmp_path):
    gray = save(tmp_path, "g.jpg", pattern(40, 56, channels=1), quality=30)
    Image.fromarray(pattern(40, 56)).save(tmp_path / "p.png")
    assert (
        main(["restore", str(gray), str(tmp_path / "p.png"), "-o", str(tmp_path / "out"), "--model", model])
        == 0
    )
    assert luma_excess(tmp_path / "out" / "g.png", gray) < 0.25
    with Image.open(tmp_path / "out" / "p.png") as png:
        assert png.size == (56, 40)


def test_a_progressive_file_restores_like_its_baseline_twin(model, tmp_path):
    # The same tables and coefficients coded progressively decode to the same pixels, so every condition
    # that `unjpeg compare` measures on baseline files holds for progressive ones; the reader and the
    # projection must see the same file too.
    image = pattern(40, 56)
    baseline = save(tmp_path, "baseline.jpg", image, quality=50, subsampling=0)
    progressive = save(tmp_path, "progressive.jpg", image, quality=50, subsampling=0, progressive=True)
    assert baseline.read_bytes() != progressive.read_bytes()
    assert read_jpeg(progressive).progressive and not read_jpeg(baseline).progressive
    out = tmp_path / "out"
    assert main(["restore", str(baseline), str(progressive), "-o", str(out), "--model", model, *TILING]) == 0
    with Image.open(out / "baseline.png") as a, Image.open(out / "progressive.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert luma_excess(out / "progressive.png", progressive) < 0.25
