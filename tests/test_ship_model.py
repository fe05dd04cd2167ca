"""scripts/ship_model.py: the generator is copied, and the card reports architecture, stages and tables."""

import csv
import json
import sys
import zipfile
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
    rows[1].update(delta_psnr=1.08, worst_delta_psnr=0.75, delta_lpips=-0.1)
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
    assert (
        "| l2 | 10 | 4:2:0 | – | 26.91 | 1.08 | 0.75 | 28.91 | 0.7500 | 0.200 | -0.100 | 0.500 | 0.900 |"
        in card
    )
    assert "| jpeg | 10 | 4:2:0 | – | 25.83 | – | – | 27.83 | 0.7500 | – | – |" in card  # no LPIPS: gray set
    assert "weights in float16" not in card


def test_gan_runs_are_recognised_by_their_loss_weights(tmp_path):
    gan = make_run(tmp_path / "gan", {"init": "runs/l2", "g_lr": 1e-4, "pixel_weight": 100.0,
                   "lpips_weight": 1.0, "adv_weight": 5e-3, "adversarial": "ragan", "warmup": 250}, [26.0])  # fmt: skip
    lines = "\n".join(ship_model.stage_lines(gan))
    assert "GAN (L2 + LPIPS + adversarial" in lines and "Adam 0.0001\n" in lines and "cosine" not in lines
    assert "pixel (MSE) 100.0, LPIPS-alex 1.0, adversarial 0.005 (ragan)" in lines


def test_the_card_names_the_pixel_loss_and_the_consistency_loss(tmp_path):
    l2 = make_run(tmp_path / "l2", {"learning_rate": 1e-4, "loss": "psnr", "consistency": True}, [26.0])
    lines = "\n".join(ship_model.stage_lines(l2))
    assert "L2 (per-patch −PSNR), every loss on the output after the luma JPEG-consistency" in lines
    assert "**Loss weights**: per-patch −PSNR only" in lines and "MSE" not in lines
    gan = make_run(tmp_path / "gan", {"g_lr": 1e-4, "pixel_weight": 0.033, "pixel_loss": "psnr",
                   "lpips_weight": 2.0, "adv_weight": 5e-3, "adversarial": "ragan", "warmup": 250}, [26.0])  # fmt: skip
    lines = "\n".join(ship_model.stage_lines(gan))
    assert "pixel (per-patch −PSNR) 0.033, LPIPS-alex 2.0" in lines and "projection" not in lines


def test_missing_run_folder_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        ship_model.stage_lines(tmp_path / "missing")


def test_a_run_stopped_before_its_schedule_ended_says_so(tmp_path):
    stopped = make_run(tmp_path / "stopped", {"learning_rate": 3e-4, "steps": 12}, [26.0, 26.1])
    lines = "\n".join(ship_model.stage_lines(stopped))
    assert "2 of 12 steps (stopped early), Adam 0.0003 cosine" in lines
    finished = make_run(tmp_path / "finished", {"learning_rate": 3e-4}, [26.0, 26.1])
    assert "batch 2, 2 steps, Adam" in "\n".join(ship_model.stage_lines(finished))


def test_compare_table_has_a_line_per_condition_and_consistency(tmp_path):
    rows = [
        {"model": model, "quality": quality, "subsampling": chroma, "double": None, "consistency": on,
         "n_images": 2, "psnr": 40.0 + quality / 100, "psnr_y": 41.0, "ssim": 0.9, "lpips": 0.05,
         "delta_psnr": None if model == "jpeg" else -0.5, "worst_delta_psnr": None, "delta_lpips": None,
         "sharpness": {"laplacian_var_ratio": 1.0, "gradient_ratio": 1.0}}
        for quality in (95, 10) for chroma in ("4:4:4", "4:2:0")
        for model, on in (("jpeg", None), ("l2", False), ("l2", True))
    ]  # fmt: skip
    (tmp_path / "metrics.json").write_text(json.dumps({"data": "dev", "rows": rows}))
    lines = ship_model.compare_table(tmp_path).splitlines()[4:]
    assert len(lines) == 12
    assert [line.split(" | ")[:3] for line in lines[:3]] == [["| jpeg", "10", "4:2:0"], ["| l2", "10", "4:2:0"],
                                                           ["| l2+consistency", "10", "4:2:0"]]  # fmt: skip
    assert lines[-1].startswith("| l2+consistency | 95 | 4:4:4 | – | 40.95 | -0.50 |")


def test_real_degradation_runs_say_how_their_jpegs_were_made(tmp_path):
    real = make_run(tmp_path / "real", {"learning_rate": 1e-4, "quality": [5, 100], "degradation": "real",
                                        "blind_fraction": 0.2}, [26.0])  # fmt: skip
    lines = "\n".join(ship_model.stage_lines(real))
    assert "**JPEGs (real)**: quality 5–100" in lines and "4:4:4 / 4:2:2 / 4:2:0" in lines
    assert "20% of patches without their tables" in lines and "Pillow, 4:2:0" not in lines
    weighted = make_run(tmp_path / "weighted", {"learning_rate": 1e-4, "quality": [5, 70], "degradation": "real",
                                                "subsampling_weights": [1, 1, 2]}, [26.0])  # fmt: skip
    assert "4:4:4 ×1 / 4:2:2 ×1 / 4:2:0 ×2" in "\n".join(ship_model.stage_lines(weighted))


def test_hand_written_sections_of_the_old_card_are_kept(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", {"learning_rate": 1e-4}, [26.0])
    (tmp_path / "shipped").mkdir()
    old = (
        "# shipped:l2\n\n## Training curve\n\nold\n\n## Why these loss weights\n\n- **LPIPS 2**: measured.\n"
    )
    (tmp_path / "shipped" / "l2.md").write_text(old)
    monkeypatch.setattr(ship_model, "SHIPPED_DIR", tmp_path / "shipped")
    monkeypatch.setattr(sys, "argv", ["ship_model.py", str(run), "--name", "l2"])
    ship_model.main()
    card = (tmp_path / "shipped" / "l2.md").read_text()
    assert card.count("## Training curve") == 1 and "\nold\n" not in card
    assert card.rstrip().endswith("## Why these loss weights\n\n- **LPIPS 2**: measured.")


def test_float16_storage_halves_the_file_and_rounds_each_weight_once(tmp_path):
    import keras
    import numpy as np

    from tests.helpers import randomised

    model = randomised(build_model("s2dnet", width=8, num_blocks=2, conditioned=True), scale=0.05)
    model.save(tmp_path / "full.keras")
    ship_model.store_float16(tmp_path / "full.keras", tmp_path / "half.keras")
    sizes = [
        zipfile.ZipFile(tmp_path / n).getinfo("model.weights.h5").file_size
        for n in ("full.keras", "half.keras")
    ]
    saved_bytes = sizes[0] - sizes[1]  # 2 of each weight's 4 bytes; HDF5's per-dataset overhead is unchanged
    assert abs(saved_bytes - 2 * model.count_params()) < 0.05 * 2 * model.count_params()
    loaded = keras.models.load_model(tmp_path / "half.keras")
    for original, stored in zip(model.weights, loaded.weights, strict=True):
        assert stored.dtype == "float32"
        np.testing.assert_array_equal(np.asarray(stored), np.asarray(original).astype(np.float16))
    loss = ship_model.float16_loss(tmp_path / "full.keras", tmp_path / "half.keras")
    assert 0 < loss["weight"] < 1e-3 and loss["output"] < 1e-2
