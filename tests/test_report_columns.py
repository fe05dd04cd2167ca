"""report_columns: row labels, condition titles, values and the highlight rule."""

import math

import pytest

from unjpeg.report_columns import (
    COLUMNS,
    LEGEND,
    best_rows,
    condition_of,
    condition_title,
    fmt,
    row_label,
    value,
)


def test_best_rows_directions():
    assert best_rows([26.0, 28.0, 27.0], "max") == {1}
    assert best_rows([0.30, 0.25, 0.15], "min") == {2}
    assert best_rows([1.40, 0.60, 0.95], "one") == {2}
    assert best_rows([1.2, 0.7], "one") == {0}  # 0.2 from 1 beats 0.3 from 1
    assert best_rows([None, 3.0, math.nan, 2.0], "max") == {1}
    assert best_rows([27.004, 27.001, 26.0], "max", digits=2) == {0, 1}  # tie as displayed
    assert best_rows([None], "min") == set()
    with pytest.raises(ValueError):
        best_rows([1.0], "best")


def test_every_column_has_its_rule_in_the_legend():
    for _, name, direction, _ in COLUMNS:
        assert name in LEGEND and direction in ("max", "min", "one")
    assert "ΔPSNR" in LEGEND.split("lower is better")[0]  # a higher gain is better
    assert "ΔLPIPS" in LEGEND.split("lower is better")[1].split(";")[0]


def test_labels_and_titles():
    assert row_label("l2", True) == "l2+consistency" and row_label("l2", False) == "l2"
    assert row_label("jpeg", None) == "jpeg"
    row = {"quality": 30, "subsampling": "4:4:4", "double": "3,5@50", "sharpness": {"gradient_ratio": 0.9}}
    assert condition_title(condition_of(row)) == "Quality 30, 4:4:4, after q50 on a grid shifted by 3,5 px"
    assert condition_title(condition_of({"quality": 10})) == "Quality 10, 4:2:0"  # an older metrics.json
    assert value(row, "gradient_ratio") == 0.9 and value(row, "delta_psnr") is None
    assert fmt(None, 2) == "–" and fmt(1.234, 2) == "1.23" and fmt(math.inf, 2) == "inf"
