import json

import pytest

from unjpeg.cli import main


@pytest.mark.slow  # loads the full shipped models
def test_demo_runs_offline_on_the_bundled_samples(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "index.html" in printed and "jpeg" in printed and "gan" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert {(row["model"], row["quality"]) for row in metrics["rows"]} == {
        (model, quality) for model in ("jpeg", "l2", "gan") for quality in (10, 30)
    }
    assert set(metrics["precision"]) == {"l2", "gan"}  # the precision that ran and why, for each model
    assert all(line.startswith("precision: ") for line in metrics["precision"].values())
    assert (out / "index.html").is_file()
    assert main(["demo", "--out", str(out)]) == 2  # an earlier report is kept without --force
