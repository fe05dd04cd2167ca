"""Fixtures shared by the training tests."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def photos(tmp_path):
    """A folder of three random 72×88 RGB PNGs: enough for a train/validation split of tiny runs."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (72, 88, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder
