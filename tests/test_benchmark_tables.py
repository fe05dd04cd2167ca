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


def result(training, exports):
    machine = {"cpu": "AMD EPYC", "cores": 2, "ram_gb": 23.5, "tensorflow": "2.21.0", "date": "2026-11-22",
               "load_average_start": 0.04, "load_average_end": 1.46}  # fmt: skip
    settings = {"matmul": 4096, "train_repeats": 2, "train_steps": 10, "train_warmup": 3, "export_repeats": 3}
    inference = [{"model": "m.keras", "image": "512×512", "runs": 2, "seconds": 0.2, "mp_per_s": 1.31,
                  "rss_loaded_mb": 597.2, "peak_rss_mb": 611.0}]  # fmt: skip
    return {"machine": machine, "settings": settings, "models": ["m.keras"], "inference": inference,
            "compute": [], "training": training, "exports": exports}  # fmt: skip


def test_report_has_the_machine_line_and_only_the_sections_that_ran():
    text = benchmark_tables.report(result(None, None))
    assert text.splitlines()[0] == (
        "machine: AMD EPYC, 2 cores, 23.5 GB RAM; TensorFlow 2.21.0, ONNX Runtime -; 2026-11-22; "
        "load average 0.0 at start, 1.5 at end"
    )
    assert f"tile {benchmark_tables.TILE}, overlap {benchmark_tables.OVERLAP}" in text
    assert "m.keras  512×512     2      0.2  1.31            597          611" in text
    assert "4096² float32 matmul" in text
    assert "training:" not in text and "exports of" not in text

    training = {"generator": "s2dnet", "model_kwargs": {"num_blocks": 6}, "patch": 64, "batch": 16,
                "l2_s_per_100": 12.71, "gan_s_per_100": 16.44, "gan_over_l2": 1.2935}  # fmt: skip
    text = benchmark_tables.report(result(training, []))
    assert "training: the generator of m.keras ({'num_blocks': 6}), best of 2 × 10 steps after 3" in text
    (row,) = [line.split() for line in text.splitlines() if line.startswith("s2dnet")]
    assert row == ["s2dnet", "64", "16", "12.7", "16.4", "1.29"]
    assert "exports of m.keras: best of 3, one call, no tiling" in text
