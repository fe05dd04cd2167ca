import numpy as np
import pytest
from unjpeg.baselines.s2dnet import build_s2dnet


@pytest.mark.parametrize(("height", "width"), [(40, 56), (37, 50), (8, 8)])
def test_any_size_in_same_size_out(height, width):
    model = build_s2dnet(width=8, num_blocks=1)
    images = np.random.default_rng(0).random((2, height, width, 3)).astype(np.float32)
    assert model(images).shape == (2, height, width, 3)


def test_starts_as_the_identity():
    # The output convolution is zero-initialised, so an untrained model returns the JPEG unchanged.
    images = np.random.default_rng(1).random((1, 24, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(build_s2dnet(width=8, num_blocks=1)(images), images, atol=1e-6)


def test_default_size_matches_docstring():
    assert build_s2dnet().count_params() == 1_291_440


def test_shipped_depth_matches_docstring():
    assert build_s2dnet(num_blocks=14).count_params() == 4_243_120
