import io
import logging
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from unjpeg.data import images
from unjpeg.data.images import (
    ImageError,
    from_pil,
    list_images,
    load_image,
    read_image,
    save_image,
    to_uint8,
)


def test_rgb_png_loads_as_float_in_unit_range(tmp_path):
    pixels = np.arange(12 * 16 * 3, dtype=np.uint8).reshape(12, 16, 3)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert image.shape == (12, 16, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image * 255, pixels, atol=1e-4)


def test_grayscale_stays_single_channel(tmp_path):
    Image.fromarray(np.full((10, 9), 128, np.uint8)).save(tmp_path / "g.bmp")
    assert load_image(tmp_path / "g.bmp").shape == (10, 9, 1)


def test_sixteen_bit_png_scales_to_unit_range(tmp_path):
    array = np.full((10, 12), 65535, np.uint16)
    array[0, 0] = 0
    Image.fromarray(array).save(tmp_path / "deep.png")
    loaded = read_image(tmp_path / "deep.png")
    assert loaded.bit_depth == 16 and loaded.pixels.max() == 1.0 and loaded.pixels.min() == 0.0


def test_palette_and_cmyk_become_rgb(tmp_path):
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8))
    rgb.convert("P").save(tmp_path / "p.png")
    rgb.convert("CMYK").save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "p.png").shape == (16, 16, 3)
    assert load_image(tmp_path / "c.jpg").shape == (16, 16, 3)


def test_alpha_is_dropped_with_a_warning_or_kept_on_request(tmp_path, caplog):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 3] = 77
    Image.fromarray(rgba).save(tmp_path / "a.png")
    with caplog.at_level(logging.WARNING):
        assert load_image(tmp_path / "a.png").shape == (10, 10, 3)
    assert "alpha channel dropped" in caplog.text
    kept = read_image(tmp_path / "a.png", keep_alpha=True)
    assert kept.alpha is not None and int(kept.alpha[0, 0]) == 77


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (20, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "o.jpg", exif=exif)
    assert load_image(tmp_path / "o.jpg").shape == (20, 10, 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"this is not a jpeg", "not a readable image")],
)
def test_bad_files_raise_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert "\n" not in str(info.value) and "bad.jpg" in str(info.value)


def test_truncated_jpeg_and_tiny_images_are_refused(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[:200])
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ImageError):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(ImageError, match="smaller than 8×8"):
        load_image(tmp_path / "dot.png")


def test_list_images_is_recursive_sorted_and_errors_clearly(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("sub/b.png", "a.png", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.png", "b.png"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        list_images(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images found"):
        list_images(tmp_path / "empty")


def test_save_and_reload_round_trip(tmp_path):
    image = np.random.default_rng(1).random((9, 11, 3)).astype(np.float32)
    save_image(tmp_path / "r.png", image)
    np.testing.assert_array_equal(to_uint8(load_image(tmp_path / "r.png")), to_uint8(image))


def test_pixel_limit_refuses_then_allows(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(path)
    with pytest.raises(ImageError, match=r"2,000 pixels, over the decompression bomb limit of 1,999"):
        read_image(path, max_pixels=1999)
    assert read_image(path, max_pixels=2000).pixels.shape == (40, 50, 3)
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS  # Pillow's global guard is restored


def test_pixel_limit_applies_before_decoding(tmp_path):
    # A 3 GP header: refused by the default limit in one line, without decoding (which would need 9 GB).
    path = tmp_path / "huge.png"
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    struct.pack_into(">II", data, 16, 60000, 50000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    with pytest.raises(
        ImageError, match="3,000,000,000 pixels, over the decompression bomb limit of 89,478,485"
    ):
        read_image(path)


def test_from_pil_modes():
    pixels, alpha, depth = from_pil(Image.new("RGBA", (9, 8), (255, 0, 0, 128)))
    assert pixels.shape == (8, 9, 3) and pixels.dtype == np.float32 and alpha.shape == (8, 9)
    assert pixels[0, 0].tolist() == [1.0, 0.0, 0.0] and alpha[0, 0] == 128 and depth == 8
    pixels, alpha, _ = from_pil(Image.new("L", (9, 8), 51))
    assert pixels.shape == (8, 9, 1) and alpha is None and pixels[0, 0, 0] == np.float32(0.2)
