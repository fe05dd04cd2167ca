"""scripts/benchmark_tables.py: aligned tables, scaled and missing values, failed rows, and optional sections."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import benchmark_tables  # noqa: E402

COLUMNS = [("model", "model", ""), ("kFLOP/px", "flops", ".3g", 1e-3), ("MP/s", "speed", ".2f")]


def test_table_aligns_text_left_and_numbers_right():
    rows = [
        {"model": "shipped:gan", "flops": 235268.0, "speed": 1.034},
        {"model": "l2", "flops": 1e3, "speed": None},
    ]
    lines = benchmark_tables.table("title", COLUMNS, rows).splitlines()
    assert lines[:2] == ["title", ""]
    assert lines[2] == "model        kFLOP/px  MP/s"
    assert lines[3] == "shipped:gan       235  1.03"  # scaled by 1e-3, 3 significant digits
    assert lines[4] == "l2                  1     -"  # None shows as "-"


def test_failed_row_keeps_its_first_two_columns_and_the_error():
    rows = [{"model": "shipped:l2", "flops": 2e5, "error": "out of memory"}]
    lines = benchmark_tables.table("t", COLUMNS, rows).splitlines()
    assert lines[-1] == "shipped:l2       200  failed: out of memory"


PHASES = {
    "startup_load": 3.0,
    "decode": 0.1,
    "model": 0.15,
    "blending": 0.02,
    "encode_write": 0.03,
    "total": 0.3,
}


def result(training, exports):
    machine = {"cpu": "AMD EPYC", "cores": 2, "ram_gb": 23.5, "tensorflow": "2.21.0", "date": "2026-11-22",
               "load_average_start": 0.04, "load_average_end": 1.46, "cpu_flags": ["avx512_bf16"]}  # fmt: skip
    settings = {"matmul": 4096, "train_repeats": 2, "train_steps": 10, "train_warmup": 3, "export_repeats": 3}
    inference = [{"model": "m.keras", "image": "512×512", "precision": "float32", "runs": 2, "seconds": 0.2,
                  "mp_per_s": 1.31, "rss_loaded_mb": 597.2, "peak_rss_mb": 611.0, "phases": PHASES},
                 {"model": "m.keras", "image": "512×512", "precision": "bfloat16", "runs": 2, "seconds": 0.08,
                  "mp_per_s": 3.28, "rss_loaded_mb": 600.0, "peak_rss_mb": 620.0}]  # fmt: skip
    return {"machine": machine, "settings": settings, "models": ["m.keras"], "inference": inference,
            "compute": [], "training": training, "exports": exports}  # fmt: skip


def test_report_has_the_machine_line_and_only_the_sections_that_ran():
    text = benchmark_tables.report(result(None, None))
    assert text.splitlines()[0] == (
        "machine: AMD EPYC, 2 cores, 23.5 GB RAM; CPU flags: avx512_bf16; TensorFlow 2.21.0, "
        "ONNX Runtime -; 2026-11-22; load average 0.0 at start, 1.5 at end"
    )
    assert f"tile {benchmark_tables.TILE}, overlap {benchmark_tables.OVERLAP}" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["m.keras", "512×512", "float32", "2", "0.2", "1.31", "597", "611"] in lines
    assert "4096² float32 and bfloat16 matmul" in text
    # side by side: float32 0.2 s against bfloat16 0.08 s is a 2.5× speed-up
    assert ["m.keras", "512×512", "0.2", "0.08", "2.50"] in lines
    # the split: model 0.15 s of a 0.3 s restore is 50 %, and 0.15 / (0.3 + 3.0) end to end is 5 %
    (split,) = [line.split() for line in text.splitlines() if line.startswith("m.keras") and "%" in line]
    assert split == ["m.keras", "512×512", "float32", "3", "0.1", "0.15", "0.02", "0.03", "50%", "5%"]
    assert "training:" not in text and "exports of" not in text

    training = [{"generator": "s2dnet", "precision": "float32", "model_kwargs": {"num_blocks": 6}, "patch": 64,
                 "batch": 16, "l2_s_per_100": 12.71, "gan_s_per_100": 16.44, "gan_over_l2": 1.2935},
                {"generator": "s2dnet", "precision": "bfloat16", "model_kwargs": {"num_blocks": 6}, "patch": 64,
                 "batch": 16, "l2_s_per_100": 5.0, "gan_s_per_100": 8.22, "gan_over_l2": 1.644}]  # fmt: skip
    text = benchmark_tables.report(result(training, []))
    assert "training: the generator of m.keras ({'num_blocks': 6}), best of 2 × 10 steps after 3" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("s2dnet")]
    assert rows == [["s2dnet", "float32", "64", "16", "12.7", "16.4", "1.29"],
                    ["s2dnet", "bfloat16", "64", "16", "5.0", "8.2", "1.64"]]  # fmt: skip
    speedups = [line.split() for line in text.splitlines() if line.startswith(("L2 step", "GAN step"))]
    assert speedups == [
        ["L2", "step", "s2dnet", "12.7", "5", "2.54"],
        ["GAN", "step", "s2dnet", "16.4", "8.22", "2.00"],
    ]
    assert "exports of m.keras: best of 3, one call, no tiling" in text


def test_side_by_side_pairs_precisions_and_skips_failures():
    rows = [
        {"model": "a", "image": "1", "precision": "float32", "seconds": 4.0},
        {"model": "a", "image": "1", "precision": "bfloat16", "seconds": 1.0},
        {"model": "b", "image": "1", "precision": "float32", "seconds": 2.0},
        {"model": "b", "image": "1", "precision": "bfloat16", "error": "killed"},
    ]
    assert benchmark_tables.side_by_side(rows) == [
        {"model": "a", "image": "1", "float32": 4.0, "bfloat16": 1.0, "speedup": 4.0},
        {"model": "b", "image": "1", "float32": 2.0, "speedup": None},
    ]
