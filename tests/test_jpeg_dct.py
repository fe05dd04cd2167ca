import numpy as np
from unjpeg.data.jpeg_dct import dct_matrix, forward_dct, from_blocks, rgb_to_ycbcr, to_blocks, ycbcr_to_rgb
from unjpeg.data.jpeg_file import read_jpeg

from tests.jpeg_helpers import pattern, pillow_ycbcr, save


def test_dct_is_orthonormal_and_blocks_round_trip():
    np.testing.assert_allclose(dct_matrix() @ dct_matrix().T, np.eye(8), atol=1e-12)
    plane = np.arange(16 * 24, dtype=np.float32).reshape(16, 24)
    blocks = to_blocks(plane)
    assert blocks.shape == (6, 64)
    np.testing.assert_array_equal(blocks[1], plane[:8, 8:16].ravel())  # raster order, row-major inside
    np.testing.assert_array_equal(from_blocks(blocks, 16, 24), plane)
    flat = np.full((8, 8), 130.0)
    np.testing.assert_allclose(forward_dct(flat)[0, 0], np.pad([[16.0]], ((0, 7), (0, 7))), atol=1e-4)


def test_colour_round_trips_with_jfif_constants():
    rgb = np.random.default_rng(0).uniform(0, 255, (5, 3)).astype(np.float32)
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-3)
    np.testing.assert_allclose(
        rgb_to_ycbcr(np.array([[255.0, 255, 255], [255, 0, 0]])),
        [[255, 128, 128], [76.245, 84.972, 255.5]],
        atol=1e-2,
    )


def test_forward_dct_recovers_the_files_coefficients(tmp_path):
    path = save(tmp_path, "a.jpg", pattern(48, 64), quality=50, subsampling="4:4:4")
    component = read_jpeg(path).components[0]
    ratio = forward_dct(pillow_ycbcr(path)[..., 0].astype(np.float32)) / component.quant_table
    # Pillow's decode is the dequantized coefficients, inverse-transformed and rounded to 8 bits.
    assert np.abs(ratio - component.coefficients).max() < 0.2
