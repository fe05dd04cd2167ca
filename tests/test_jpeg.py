import numpy as np
import pytest
from unjpeg.data.jpeg import (
    decode_jpeg,
    denormalise_tables,
    double_jpeg_bytes,
    jpeg_bytes,
    jpeg_roundtrip,
    jpeg_roundtrip_tf,
    jpeg_roundtrip_uint8,
    normalise_tables,
    parse_quality,
    quant_tables,
    sampling_factors,
)


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


def textured(height=48, width=64, channels=3, seed=0):
    image = (smooth_image(height, width, channels) * 255).astype(np.uint8)
    noise = np.random.default_rng(seed).integers(-20, 21, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("subsampling", "luma_factors"), [("4:4:4", (1, 1)), ("4:2:2", (2, 1)), ("4:2:0", (2, 2))]
)
def test_subsampling_is_what_the_file_says(subsampling, luma_factors):
    factors = sampling_factors(jpeg_bytes(textured(), 60, subsampling))
    assert factors == (luma_factors, (1, 1), (1, 1))


def test_default_subsampling_is_420_and_bytes_match_the_roundtrip():
    image = textured()
    np.testing.assert_array_equal(decode_jpeg(jpeg_bytes(image, 40)), jpeg_roundtrip_uint8(image, 40))
    assert sampling_factors(jpeg_bytes(image, 40))[0] == (2, 2)


def test_444_keeps_a_chroma_checkerboard_that_420_destroys():
    image = np.zeros((32, 32, 3), np.uint8)
    image[::2, ::2] = image[1::2, 1::2] = (255, 0, 0)
    image[1::2, ::2] = image[::2, 1::2] = (0, 255, 255)
    error_444 = np.abs(jpeg_roundtrip_uint8(image, 100, "4:4:4").astype(int) - image).mean()
    error_420 = np.abs(jpeg_roundtrip_uint8(image, 100, "4:2:0").astype(int) - image).mean()
    assert error_444 < 10 < error_420


def test_quant_tables_read_back_custom_tables_in_natural_order():
    luma = np.arange(1, 65)
    chroma = np.minimum(3 * luma, 255)
    steps, gray = quant_tables(jpeg_bytes(textured(), qtables=np.stack([luma, chroma])))
    assert not gray
    np.testing.assert_array_equal(steps, np.stack([luma, chroma]))


def test_quant_tables_follow_quality_and_gray_has_no_chroma():
    low, _ = quant_tables(jpeg_bytes(textured(), 10))
    high, _ = quant_tables(jpeg_bytes(textured(), 95))
    assert (low >= high).all() and low.sum() > 5 * high.sum()
    steps, gray = quant_tables(jpeg_bytes(textured(channels=1), 50))
    assert gray and steps[0].min() >= 1 and not steps[1].any()
    assert steps[0, 0] == 16  # the IJG luma DC step (Annex K) at quality 50 is unscaled


def test_normalised_tables_are_in_range_and_invert():
    steps, _ = quant_tables(jpeg_bytes(textured(channels=1), 3))
    vector = normalise_tables(steps)
    assert vector.shape == (128,) and vector.dtype == np.float32
    assert 0.125 <= vector[:64].min() and vector.max() <= 1.0 and not vector[64:].any()
    np.testing.assert_array_equal(denormalise_tables(vector), steps)


def test_double_jpeg_is_shifted_and_carries_the_second_tables():
    image = textured(56, 72)
    data = double_jpeg_bytes(image, 20, 90, shift=(3, 5), subsampling="4:4:4")
    decoded = decode_jpeg(data)
    assert decoded.shape == (53, 67, 3)
    np.testing.assert_array_equal(quant_tables(data)[0], quant_tables(jpeg_bytes(image, 90))[0])
    # The q20 artefacts survive the q90 pass, so it is much farther from the image than q90 alone.
    single = jpeg_roundtrip_uint8(image, 90, "4:4:4")[3:, 5:].astype(int)
    assert np.abs(decoded.astype(int) - image[3:, 5:]).mean() > 1.5 * np.abs(single - image[3:, 5:]).mean()


def test_bad_subsampling_and_steps_are_refused():
    with pytest.raises(ValueError, match="subsampling"):
        jpeg_bytes(textured(), 50, "4:1:1")
    with pytest.raises(ValueError, match="1..255"):
        jpeg_bytes(textured(), qtables=np.zeros((2, 64)))
