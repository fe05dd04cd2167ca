import numpy as np
import pytest
from unjpeg.data.jpeg import jpeg_roundtrip, jpeg_roundtrip_tf, jpeg_roundtrip_uint8, parse_quality


def smooth_image(height=64, width=80, channels=3):
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [0.5 + 0.4 * np.sin(x / (5 + c) + y / (7 + c)) for c in range(channels)]
    return np.stack(planes, axis=-1)


def test_quality_95_is_close_and_quality_10_is_far():
    image = smooth_image()
    error_95 = np.abs(jpeg_roundtrip(image, 95) - image).mean()
    error_10 = np.abs(jpeg_roundtrip(image, 10) - image).mean()
    assert error_95 < 0.01
    assert error_10 > 3 * error_95


def test_grayscale_stays_single_channel_and_colour_keeps_shape():
    gray = (smooth_image(channels=1) * 255).astype(np.uint8)
    assert jpeg_roundtrip_uint8(gray, 30).shape == (64, 80, 1)
    assert jpeg_roundtrip(smooth_image(37, 45), 30).shape == (37, 45, 3)


def test_colour_uses_420_chroma_subsampling():
    # A one-pixel chroma checkerboard cannot survive 4:2:0: it averages to grey in each 2×2 cell.
    image = np.zeros((32, 32, 3), np.uint8)
    image[::2, ::2] = image[1::2, 1::2] = (255, 0, 0)
    image[1::2, ::2] = image[::2, 1::2] = (0, 255, 255)
    decoded = jpeg_roundtrip_uint8(image, 100).astype(int)
    assert np.abs(decoded[..., 0] - decoded[..., 1]).mean() < 60


@pytest.mark.parametrize(("text", "expected"), [("30", (30, 30)), ("10-50", (10, 50))])
def test_parse_quality(text, expected):
    assert parse_quality(text) == expected


@pytest.mark.parametrize("text", ["0", "50-10", "abc", "10-20-30", "101"])
def test_parse_quality_rejects_bad_values(text):
    with pytest.raises(ValueError, match="quality"):
        parse_quality(text)


@pytest.mark.parametrize("quality", [10, 50])
@pytest.mark.parametrize("channels", [1, 3])
def test_in_graph_jpeg_decodes_to_the_same_pixels_as_pillow(quality, channels):
    image = (smooth_image(48, 72, channels) * 255).astype(np.uint8)
    image[::7, ::5] = 255 - image[::7, ::5]  # texture, so rounding differences would show
    np.testing.assert_array_equal(jpeg_roundtrip_tf(image, quality), jpeg_roundtrip_uint8(image, quality))
