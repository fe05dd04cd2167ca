"""compare_scores: per-row means and gains over JPEG worked out by hand, the crop window, JSON and CSV."""

import csv
import json
import math

import numpy as np
import pytest

from unjpeg.compare_conditions import Condition
from unjpeg.compare_scores import CSV_FIELDS, crop, finite, make_row, write_metrics

SHARP = {"laplacian_var_ratio": 0.5, "gradient_ratio": 0.8, "hf_energy_ratio": 0.7, "blur_effect": 0.3}


def image(name, psnr, lpips):
    return {"name": name, "psnr": psnr, "psnr_y": psnr, "ssim": 0.9, "psnr_b": psnr, "lpips": lpips,
            "sharpness": SHARP}  # fmt: skip


def test_gains_over_jpeg():
    jpeg = [image("a", 30.0, 0.20), image("b", 40.0, 0.10)]
    model = [image("b", 39.0, 0.05), image("a", 32.0, 0.10)]  # order differs: matched by name
    row = make_row("l2", False, Condition(90, "4:4:4"), model, jpeg)
    assert row["delta_psnr"] == pytest.approx(0.5)  # (+2 - 1) / 2
    assert row["worst_delta_psnr"] == pytest.approx(-1.0)
    assert row["delta_lpips"] == pytest.approx(-0.075)
    assert (row["quality"], row["subsampling"], row["double"], row["consistency"]) == (
        90,
        "4:4:4",
        None,
        False,
    )
    own = make_row("jpeg", None, Condition(90), jpeg, jpeg)
    assert own["delta_psnr"] is None and own["psnr"] == pytest.approx(35.0)
    exact = make_row("m", True, Condition(90), [image("a", math.inf, 0.0)], jpeg)
    assert exact["delta_psnr"] is None and exact["worst_delta_psnr"] is None  # inf gains are left out


def test_crop_finds_where_rows_differ():
    original = np.full((64, 72, 3), 100, np.uint8)
    other = original.copy()
    other[40:48, 64:72] = 200
    found = crop("x.png", Condition(10), {"jpeg": original, "m": other}, original)
    assert (
        found["size"] == 64 and found["top"] == 0 and found["left"] == 8
    )  # the only 64 px window holding it
    assert set(found["panels"]) == {"jpeg", "m", "original"} and found["panels"]["m"].shape == (64, 64, 3)
    assert "quality 10" in found["condition"]


def test_files(tmp_path):
    jpeg = [image("a", 30.0, 0.2)]
    rows = [
        make_row("jpeg", None, Condition(10), jpeg, jpeg),
        make_row("m", False, Condition(10), jpeg, jpeg),
    ]
    rows[1]["psnr"] = math.inf
    write_metrics({"rows": rows}, tmp_path / "m.json", tmp_path / "m.csv")
    assert json.loads((tmp_path / "m.json").read_text())["rows"][1]["psnr"] is None
    with open(tmp_path / "m.csv") as handle:
        lines = list(csv.DictReader(handle))
    assert tuple(lines[0]) == CSV_FIELDS and lines[0]["delta_psnr"] == "" and lines[1]["delta_psnr"] == "0.0"
    assert finite([math.nan, {"a": math.inf}]) == [None, {"a": None}]
