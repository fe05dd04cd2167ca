"""scripts/bench_lpips.py: LPIPS-alex timed in its spawned process at batches 1 and 2, without a time budget."""

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_lpips  # noqa: E402


@pytest.mark.slow  # TensorFlow in a spawned process
def test_alex_rows_table_and_json(tmp_path, capsys):
    out = tmp_path / "lpips.json"
    argv = ["--nets", "alex", "--batches", "1", "2", "--seconds", "0", "--out", str(out)]
    assert bench_lpips.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["image_side"] == bench_lpips.SIDE == 256
    assert result["cpu_count"] >= 1 and result["load_average_1m"] >= 0 and result["machine"]
    assert [(row["net"], row["batch"]) for row in result["rows"]] == [("alex", 1), ("alex", 2)]
    for row in result["rows"]:
        # Forward + backward runs the forward pass too, and costs about 3× as much.
        assert row["forward_ms_per_image"] > 0 and row["forward_backward_ms_per_image"] > 0
    # Peak RSS is the worker's (TensorFlow + weights: hundreds of MB), read once after both batches.
    assert result["rows"][0]["peak_rss_mb"] == result["rows"][1]["peak_rss_mb"] > 100
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["net", "batch", "fwd", "ms/img", "fwd+bwd", "ms/img", "peak", "RSS", "MB"]
    assert set(lines[1]) == {"-"} and len(lines[1]) == len(lines[0])
    for line, row in zip(lines[2:4], result["rows"], strict=True):
        assert line.split() == [
            "alex",
            str(row["batch"]),
            f"{row['forward_ms_per_image']:.2f}",
            f"{row['forward_backward_ms_per_image']:.2f}",
            f"{row['peak_rss_mb']:.1f}",
        ]
    assert lines[4] == f"wrote {out}"


def test_median_ms_warms_up_then_takes_the_median():
    sleeps = iter([0.0, 0.0, 0.001, 0.05, 0.004])  # 2 warm-up calls, then 3 timed
    calls = []

    def step():
        calls.append(1)
        time.sleep(next(sleeps))

    median = bench_lpips._median_ms(step, seconds=0)
    assert len(calls) == 5  # no time budget: the minimum of 3 repeats
    assert 4 <= median < 50  # the middle sleep, 4 ms, not the 50 ms outlier


def test_unknown_net_is_rejected_before_any_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_lpips.main(["--nets", "squeeze", "--out", str(tmp_path / "lpips.json")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'squeeze'" in capsys.readouterr().err
    assert not (tmp_path / "lpips.json").exists()
