"""compare_restore with a numpy stand-in model: every row of one condition, consistency, and the readers."""

import numpy as np
import pytest
from PIL import Image

from unjpeg.compare_conditions import Condition
from unjpeg.compare_restore import RestoreSetup, load, projection, read_original, restore_all
from unjpeg.sources import SourceError


class Darker:
    """A stand-in restorer: (B, H, W, 3) float32 in [0, 1] -> the same, 10 % darker."""

    fixed_size = None

    def __call__(self, batch):
        return batch * 0.9


def _photo():
    y, x = np.mgrid[0:40, 0:48]
    return np.stack([x * 5, y * 6, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)


def test_rows_of_one_condition():
    original = _photo()

    def project(restored, data):  # records what it was given
        assert restored.dtype == np.float32 and data[:2] == b"\xff\xd8"  # the JPEG file itself
        return np.zeros_like(restored)

    setup = RestoreSetup(consistency=(False, True), project=project)
    result = restore_all(original, Condition(30, "4:4:4", (3, 5), 30), {"dark": Darker()}, setup)
    assert set(result.outputs) == {("jpeg", None), ("dark", False), ("dark", True)}
    jpeg = result.outputs["jpeg", None]
    assert jpeg.shape == result.reference.shape == (37, 43, 3) and jpeg.dtype == np.uint8
    expected = np.round(jpeg / 255.0 * 0.9 * 255).astype(np.uint8)
    assert (
        np.abs(result.outputs["dark", False].astype(int) - expected).max() <= 1
    )  # the model's output, 8-bit
    assert not result.outputs["dark", True].any()  # the projection's output


def test_projection_keeps_the_file_and_helps():
    from unjpeg.losses.metrics import psnr

    from unjpeg.compare_conditions import degrade

    original = _photo()
    degraded = degrade(original, Condition(50, "4:4:4"))
    project = projection()
    decoded = degraded.decoded.astype(np.float32) / 255.0
    again = project(decoded, degraded.data)  # the decoded JPEG is already consistent
    assert np.abs(again * 255 - degraded.decoded).max() < 1.5
    smooth = np.full_like(decoded, decoded.mean(axis=(0, 1)))  # far from the file
    projected = project(smooth, degraded.data)
    assert psnr(original, projected) > psnr(original, smooth) + 3


def test_readers(tmp_path):
    Image.fromarray(np.zeros((20, 40), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    image, reason = read_original(tmp_path / "small.png")
    assert image is None and "smaller than" in reason
    image, reason = read_original(tmp_path / "bad.png")
    assert image is None and reason
    with pytest.raises(SourceError, match="^model x=nowhere.keras: "):
        load("x", "nowhere.keras")
