"""scripts/ship_model.py: the generator is copied, and the card reports architecture, stages and tables."""

import csv
import json
import sys
from pathlib import Path

import pytest
from unjpeg.baselines.models import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import ship_model  # noqa: E402


def make_run(folder: Path, config: dict, val_q10: list[float]) -> Path:
    folder.mkdir(parents=True)
    base = {"data": "photos", "patch": 32, "batch": 2, "steps": len(val_q10), "steps_per_epoch": 1,
            "quality": [10, 50], "gray_fraction": 0.15, "val_size": 64, "seed": 1, "model": "s2dnet",
            "model_kwargs": {"width": 8, "num_blocks": 2}}  # fmt: skip
    (folder / "config.json").write_text(json.dumps({**base, **config}))
    (folder / "state.json").write_text(json.dumps({"step": len(val_q10), "epoch": len(val_q10)}))
    with open(folder / "log.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "loss", "val_psnr_q10"])
        writer.writerows([i, 0.01, v] for i, v in enumerate(val_q10))
    build_model("s2dnet", width=8, num_blocks=2).save(folder / "generator.keras")
    return folder


def make_report(folder: Path) -> Path:
    folder.mkdir()
    sharp = {"laplacian_var_ratio": 0.5, "gradient_ratio": 0.9}
    rows = [
        {"model": m, "quality": 10, "n_images": 3, "psnr": p, "psnr_y": p + 2, "ssim": 0.75, "psnr_b": p - 1,
         "lpips": None if m == "jpeg" else 0.2, "sharpness": sharp}
        for m, p in (("jpeg", 25.83), ("l2", 26.91))
    ]  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps({"data": "dev/set", "rows": rows}))
    return folder


def test_ship_writes_the_model_and_a_card_with_every_stage(tmp_path, monkeypatch):
    first = make_run(
        tmp_path / "first_l2", {"learning_rate": 5e-4, "model_kwargs": {"width": 8}}, [25.5, 25.9]
    )
    grown = make_run(tmp_path / "grown_l2", {"learning_rate": 3e-4, "init": "shipped:l2"}, [26.0, 26.2, 26.3])
    report = make_report(tmp_path / "report")
    monkeypatch.setattr(ship_model, "SHIPPED_DIR", tmp_path / "shipped")
    argv = ["ship_model.py", str(grown), "--name", "l2", "--earlier", str(first), "--reports", str(report)]
    monkeypatch.setattr(sys, "argv", argv)
    ship_model.main()

    assert (tmp_path / "shipped" / "l2.keras").read_bytes() == (grown / "generator.keras").read_bytes()
    card = (tmp_path / "shipped" / "l2.md").read_text()
    params = build_model("s2dnet", width=8, num_blocks=2).count_params()
    assert f"- **Parameters**: {params:,}" in card
    assert "{'width': 8, 'num_blocks': 2}" in card
    assert card.count("L2 (MSE)") == 2 and "GAN" not in card
    assert "Adam 0.0003 cosine" in card and "Adam 0.0005 cosine" in card
    assert "Initialised from**: `shipped:l2`" in card
    assert "### Earlier stage 1: `first_l2`\n\n- **Architecture**: `s2dnet` {'width': 8}\n" in card
    assert "held out of `photos` (split seed 1)" in card  # runs before --split-seed split by --seed
    assert "| 3 | 26.3 |" in card and "| 2 | 25.9 |" in card  # last step of each curve
    assert "| l2 | 10 | 26.91 | 28.91 | 0.7500 | 25.91 | 0.200 | 0.500 | 0.900 |" in card
    assert "| jpeg | 10 | 25.83 |" in card and "| – |" in card  # no LPIPS for a gray set


def test_gan_runs_are_recognised_by_their_loss_weights(tmp_path):
    gan = make_run(tmp_path / "gan", {"init": "runs/l2", "g_lr": 1e-4, "pixel_weight": 100.0,
                   "lpips_weight": 1.0, "adv_weight": 5e-3, "adversarial": "ragan", "warmup": 250}, [26.0])  # fmt: skip
    lines = "\n".join(ship_model.stage_lines(gan))
    assert "GAN (L2 + LPIPS + adversarial" in lines and "Adam 0.0001\n" in lines and "cosine" not in lines
    assert "pixel (MSE) 100.0, LPIPS-alex 1.0, adversarial 0.005 (ragan)" in lines


def test_missing_run_folder_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        ship_model.stage_lines(tmp_path / "missing")


def test_a_run_stopped_before_its_schedule_ended_says_so(tmp_path):
    stopped = make_run(tmp_path / "stopped", {"learning_rate": 3e-4, "steps": 12}, [26.0, 26.1])
    lines = "\n".join(ship_model.stage_lines(stopped))
    assert "2 of 12 steps (stopped early), Adam 0.0003 cosine" in lines
    finished = make_run(tmp_path / "finished", {"learning_rate": 3e-4}, [26.0, 26.1])
    assert "batch 2, 2 steps, Adam" in "\n".join(ship_model.stage_lines(finished))
