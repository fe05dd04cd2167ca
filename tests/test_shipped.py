"""The shipped generators load from the repository and beat plain JPEG on a bundled sample."""

import numpy as np
import pytest
from unjpeg.data.images import load_image
from unjpeg.data.jpeg import jpeg_roundtrip
from unjpeg.losses.metrics import psnr

from unjpeg.demo import SAMPLES
from unjpeg.sources import load_restorer
from unjpeg.tiling import restore_image

pytestmark = pytest.mark.slow  # loads the full shipped models


@pytest.fixture(scope="module")
def sample():
    image = load_image(sorted(SAMPLES.glob("*.png"))[0])
    return image, jpeg_roundtrip(image, 10)


@pytest.mark.parametrize("source", ["shipped:l2", "shipped:gan"])
def test_shipped_model_beats_jpeg_at_quality_10(source, sample):
    original, degraded = sample
    restored = restore_image(load_restorer(source), degraded)
    assert restored.shape == original.shape
    assert psnr(original, restored) > psnr(original, degraded) + 0.2


def test_strength_blends_the_two_shipped_models(sample):
    _, degraded = sample
    crop = degraded[:64, :96]
    ends = [restore_image(load_restorer("shipped:gan", strength=s), crop) for s in (0.0, 1.0)]
    np.testing.assert_allclose(ends[0], restore_image(load_restorer("shipped:l2"), crop), atol=1e-5)
    np.testing.assert_allclose(ends[1], restore_image(load_restorer("shipped:gan"), crop), atol=1e-5)
