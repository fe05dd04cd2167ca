import dataclasses
from math import ceil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from unjpeg.data.jpeg_file import UnsupportedJpegError, as_stored, looks_like_jpeg, read_jpeg, upright

from tests.jpeg_helpers import idct_plane, pattern, pillow_ycbcr, save

HEIGHT, WIDTH = 37, 53  # not multiples of 8 or 16, so partial blocks and MCUs are read
PATTERN_440 = Path(__file__).parent / "data" / "jpeg" / "pattern_440_q60.jpg"
# An asymmetric table (u, v weighted differently) so that a transposed read would not decode to Pillow's pixels.
ASYMMETRIC_TABLE = (2 + np.add.outer(np.arange(8), 3 * np.arange(8))).astype(int)


@pytest.mark.parametrize(
    ("subsampling", "sampling"),
    [("4:4:4", [(1, 1)] * 3), ("4:2:2", [(2, 1), (1, 1), (1, 1)]), ("4:2:0", [(2, 2), (1, 1), (1, 1)])],
)
def test_sampling_and_block_counts(tmp_path, subsampling, sampling):
    record = read_jpeg(save(tmp_path, "a.jpg", pattern(HEIGHT, WIDTH), quality=75, subsampling=subsampling))
    assert (record.height, record.width, record.color_space) == (HEIGHT, WIDTH, "ycbcr")
    assert [c.sampling for c in record.components] == sampling
    max_h, max_v = record.max_sampling
    assert record.mcu == (8 * max_v, 8 * max_h)
    for component in record.components:
        h, v = component.sampling
        # T.81 A.1.1: a component has ceil(size * factor / max_factor) samples, coded in whole blocks.
        expected = (ceil(ceil(HEIGHT * v / max_v) / 8), ceil(ceil(WIDTH * h / max_h) / 8), 8, 8)
        assert component.coefficients.shape == expected
        assert component.coefficients.dtype == np.int16


def test_440_file_from_another_encoder():
    record = read_jpeg(PATTERN_440)
    assert [c.sampling for c in record.components] == [(1, 2), (1, 1), (1, 1)]
    assert record.mcu == (16, 8)
    assert record.subsampling(1) == (2, 1)
    luma = idct_plane(record.components[0])[: record.height, : record.width]
    assert np.abs(luma - pillow_ycbcr(PATTERN_440)[..., 0]).max() <= 1.5


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"progressive": True},
        {"restart_marker_blocks": 3},
        {"restart_marker_rows": 1, "progressive": True},
    ],
    ids=["baseline", "progressive", "restart-blocks", "restart-rows-progressive"],
)
def test_coefficients_decode_to_pillows_pixels(tmp_path, options):
    tables = [ASYMMETRIC_TABLE.ravel().tolist(), ASYMMETRIC_TABLE.T.ravel().tolist()]
    path = save(tmp_path, "a.jpg", pattern(HEIGHT, WIDTH), qtables=tables, subsampling="4:4:4", **options)
    record = read_jpeg(path)
    assert record.progressive == bool(options.get("progressive"))
    np.testing.assert_array_equal(record.components[0].quant_table, ASYMMETRIC_TABLE)
    np.testing.assert_array_equal(record.components[2].quant_table, ASYMMETRIC_TABLE.T)
    planes = pillow_ycbcr(path).astype(float)
    for index, component in enumerate(record.components):
        decoded = idct_plane(component)[:HEIGHT, :WIDTH]
        # libjpeg's integer IDCT (JDCT_ISLOW) rounds to within one level of the exact transform.
        assert np.abs(np.clip(decoded, 0, 255) - planes[..., index]).max() <= 1.5


def test_tables_equal_pillows_quantization(tmp_path):
    # Pillow 13 gives (and takes, as `qtables`) the tables in natural order, as libjpeg stores them.
    path = save(tmp_path, "a.jpg", pattern(HEIGHT, WIDTH), quality=90, subsampling="4:2:0")
    record = read_jpeg(path)
    with Image.open(path) as image:
        tables = {slot: np.array(t).reshape(8, 8) for slot, t in image.quantization.items()}
    np.testing.assert_array_equal(record.components[0].quant_table, tables[0])
    np.testing.assert_array_equal(record.components[1].quant_table, tables[1])
    assert not np.array_equal(tables[0], tables[1])


def test_grayscale(tmp_path):
    path = save(tmp_path, "g.jpg", pattern(HEIGHT, WIDTH, channels=1), quality=50)
    record = read_jpeg(path)
    assert record.color_space == "gray" and len(record.components) == 1 and record.mcu == (8, 8)
    decoded = idct_plane(record.components[0])[:HEIGHT, :WIDTH]
    assert np.abs(np.clip(decoded, 0, 255) - pillow_ycbcr(path)[..., 0]).max() <= 1.5


def test_record_is_frozen_and_read_only(tmp_path):
    record = read_jpeg(save(tmp_path, "a.jpg", pattern(HEIGHT, WIDTH), quality=75))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.height = 1
    with pytest.raises(ValueError):
        record.components[0].coefficients[0, 0, 0, 0] = 1


def test_exif_orientation_is_recorded(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path, "a.jpg", pattern(HEIGHT, WIDTH), quality=75, exif=exif.tobytes())
    assert read_jpeg(path).orientation == 6
    assert read_jpeg(save(tmp_path, "b.jpg", pattern(HEIGHT, WIDTH), quality=75)).orientation == 1


def test_cmyk_is_refused_in_one_line(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(pattern(HEIGHT, WIDTH)).convert("CMYK").save(path, format="JPEG")
    with pytest.raises(UnsupportedJpegError, match="CMYK") as caught:
        read_jpeg(path)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_rgb_coded_jpeg_is_refused(tmp_path):
    with pytest.raises(UnsupportedJpegError, match="RGB"):
        read_jpeg(save(tmp_path, "rgb.jpg", pattern(HEIGHT, WIDTH), quality=75, keep_rgb=True))


def test_non_jpeg_and_garbage_are_refused(tmp_path):
    png = tmp_path / "a.png"
    Image.fromarray(pattern(HEIGHT, WIDTH)).save(png)
    garbage = tmp_path / "b.jpg"
    garbage.write_bytes(b"\xff\xd8\xff" + b"not a jpeg" * 20)
    for path in (png, garbage):
        with pytest.raises(UnsupportedJpegError, match=path.name):
            read_jpeg(path)
    assert not looks_like_jpeg(png) and looks_like_jpeg(garbage)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_as_pillow_does(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = pattern(HEIGHT, WIDTH)
    path = tmp_path / "a.png"
    Image.fromarray(stored).save(path, exif=exif.tobytes())
    with Image.open(path) as image:
        shown = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(upright(stored, orientation), shown)
    np.testing.assert_array_equal(as_stored(shown, orientation), stored)
