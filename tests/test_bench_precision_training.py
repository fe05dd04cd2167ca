"""scripts/bench_precision_training.py: the table and speed-ups from hand-made rows; one tiny L2-only run."""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_precision_training  # noqa: E402

ROWS = [
    {"stage": "L2", "precision": "float32", "steps": 300, "steps_per_s": 2.0, "val_psnr_q10": 28.5, "val_psnr_q30": 32.0},
    {"stage": "L2", "precision": "bfloat16", "steps": 300, "steps_per_s": 5.0, "val_psnr_q10": 28.49, "val_psnr_q30": 32.01},
    {"stage": "GAN", "precision": "float32", "steps": 100, "steps_per_s": 1.0, "val_psnr_q10": 27.0,
     "val_psnr_q30": 31.0, "val_lpips_q10": 0.2, "val_lpips_q30": 0.1},
    {"stage": "GAN", "precision": "bfloat16", "steps": 100, "steps_per_s": 0.5, "val_psnr_q10": 27.1,
     "val_psnr_q30": 31.0, "val_lpips_q10": 0.21, "val_lpips_q30": 0.1},
]  # fmt: skip


def test_speedups_divide_bfloat16_by_float32_per_stage():
    assert bench_precision_training.speedups(ROWS) == {"L2": 2.5, "GAN": 0.5}
    assert bench_precision_training.speedups(ROWS[:1]) == {}  # one precision only: no ratio


def test_table_lines():
    lines = bench_precision_training.table(ROWS)
    assert lines[0].split() == [
        "stage",
        "precision",
        "steps",
        "steps/s",
        "PSNR",
        "q10",
        "PSNR",
        "q30",
        "LPIPS",
        "q10",
    ]
    assert lines[1].split() == ["L2", "float32", "300", "2.000", "28.500", "32.000", "-"]
    assert lines[4].split() == ["GAN", "bfloat16", "100", "0.500", "27.100", "31.000", "0.2100"]
    assert lines[5:] == [
        "L2: bfloat16 2.50x the steps/s of float32, PSNR q10 -0.010 dB",
        "GAN: bfloat16 0.50x the steps/s of float32, PSNR q10 +0.100 dB",
    ]


def test_tiny_l2_run_of_both_precisions(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(photos / f"{i}.png")
    out = tmp_path / "result.json"
    argv = ["--data", str(photos), "--steps", "3", "--gan-steps", "0", "--patch", "32", "--batch", "2"]
    bench_precision_training.main(
        [*argv, "--val-size", "32", "--width", "8", "--blocks", "1", "--out", str(out)]
    )
    result = json.loads(out.read_text())
    assert [(row["stage"], row["precision"]) for row in result["rows"]] == [
        ("L2", "float32"),
        ("L2", "bfloat16"),
    ]
    assert all(row["steps_per_s"] > 0 and row["val_psnr_q10"] > 0 for row in result["rows"])
    assert set(result["speedup"]) == {"L2"} and result["cpu"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(result["cpu"]) and printed[-1].startswith("L2: bfloat16 ")
