"""The JPEG conditions of `unjpeg compare`: flag parsing, the grid of conditions, and the files they make."""

import numpy as np
import pytest

from unjpeg.compare_conditions import (
    Condition,
    conditions,
    degrade,
    parse_consistency,
    parse_double,
    parse_qualities,
    parse_subsamplings,
)


def _photo(channels: int = 3, height: int = 48, width: int = 64) -> np.ndarray:
    """(H, W, C) uint8 with colour edges and noise, so that chroma subsampling and recompression show."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.float64)
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)[..., :channels]


def test_parse_flags():
    assert parse_qualities("95,10, 50,10") == [10, 50, 95]
    assert parse_subsamplings("444,420") == ("4:4:4", "4:2:0")
    assert parse_subsamplings("4:2:2,422") == ("4:2:2",)
    assert parse_double("3,5") == ((3, 5), None)
    assert parse_double("0,4@30") == ((0, 4), 30)
    assert parse_consistency("on,off") == (True, False) and parse_consistency("off") == (False,)
    for parse, bad in ((parse_qualities, "0,10"), (parse_qualities, "x"), (parse_subsamplings, "411"),
                       (parse_subsamplings, ""), (parse_double, "8,16"), (parse_double, "3"),
                       (parse_double, "3,5@101"), (parse_double, "-1,3"), (parse_consistency, "yes")):  # fmt: skip
        with pytest.raises(ValueError):
            parse(bad)


def test_condition_grid_and_names():
    grid = conditions([10, 90], ("4:2:0", "4:4:4"), ((3, 5), None))
    assert len(grid) == 8 and len(set(grid)) == 8
    assert grid[0] == Condition(10, "4:2:0") and grid[0].double is None
    assert grid[4] == Condition(10, "4:2:0", (3, 5), 10)  # first quality defaults to the final one
    assert grid[-1].double == "3,5@90"
    assert conditions([30], double=((3, 5), 50))[-1].describe() == (
        "quality 30, 4:2:0, after quality 50 with the grid shifted by (3, 5) px"
    )


def test_degrade_subsampling_and_gray():
    colour = _photo()
    fine, coarse = degrade(colour, Condition(95, "4:4:4")), degrade(colour, Condition(95, "4:2:0"))
    error = {k: np.abs(d.decoded.astype(int) - colour).mean() for k, d in (("444", fine), ("420", coarse))}
    assert error["444"] < error["420"]
    assert fine.reference is colour and fine.decoded.shape == colour.shape
    gray = _photo(1)
    a, b = degrade(gray, Condition(50, "4:4:4")), degrade(gray, Condition(50, "4:2:0"))
    assert a.data == b.data and a.decoded.shape == gray.shape  # no chroma to subsample


def test_degrade_double_crops_the_reference():
    image = _photo()
    double = degrade(image, Condition(50, "4:2:0", (3, 5), 50))
    np.testing.assert_array_equal(double.reference, image[3:, 5:])
    assert double.decoded.shape == (45, 59, 3)
    single = degrade(image[3:, 5:], Condition(50, "4:2:0"))
    assert (
        np.abs(double.decoded.astype(int) - double.reference).mean()
        > np.abs(single.decoded.astype(int) - single.reference).mean()
    )  # two compressions on misaligned grids lose more than one
