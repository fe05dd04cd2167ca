"""Ship a trained generator: copy it to unjpeg/shipped/NAME.keras and write its model card NAME.md.

    python scripts/ship_model.py runs/s2dnet_l2 --name l2 --reports report/cbsd68 report/mcmaster report/classic5
    python scripts/ship_model.py runs/s2dnet6_l2 --name l2 --earlier runs/s2dnet_l2 --reports report/cbsd68

The card records the architecture, parameters, FLOPs per pixel, training data and schedule, loss weights,
and the `unjpeg compare` tables of the given report folders (each holds a metrics.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from unjpeg.baselines import runs
from unjpeg.baselines.flops import describe

from unjpeg.sources import SHIPPED_DIR, load_keras_generator


def compare_table(report: Path) -> str:
    """A Markdown table of a compare report: one line per model and quality."""
    metrics = json.loads((report / "metrics.json").read_text())
    lines = [
        f"`{metrics['data']}` ({metrics['rows'][0]['n_images']} images)",
        "",
        "| model | QF | PSNR | PSNR-Y | SSIM | PSNR-B | LPIPS | Laplacian-var ratio | gradient ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(metrics["rows"], key=lambda r: r["quality"]):  # stable: jpeg, then the models
        sharp = row["sharpness"]
        lpips = "–" if row["lpips"] is None else f"{row['lpips']:.3f}"
        lines.append(
            f"| {row['model']} | {row['quality']} | {row['psnr']:.2f} | {row['psnr_y']:.2f} | {row['ssim']:.4f} | "
            f"{row['psnr_b']:.2f} | {lpips} | {sharp['laplacian_var_ratio']:.3f} | {sharp['gradient_ratio']:.3f} |"
        )
    return "\n".join(lines)


def training_curve(run: Path, every: int = 4) -> str:
    """Validation scores from the run's log.csv at every `every`-th checkpoint, and the last one."""
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    config = json.loads((run / "config.json").read_text())
    keys = [k for k in rows[0] if k.startswith("val_")]
    lines = ["| step | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for row in rows[every - 1 :: every] + ([rows[-1]] if len(rows) % every else []):
        step = int(row["step"]) if "step" in row else (int(row["epoch"]) + 1) * config["steps_per_epoch"]
        lines.append(f"| {step} | " + " | ".join(f"{float(row[k]):.4g}" for k in keys) + " |")
    return "\n".join(lines)


def is_gan_run(config: dict) -> bool:
    return "pixel_weight" in config


def stage_lines(run: Path) -> list[str]:
    """The training summary of one run folder: its loss, data, schedule and start."""
    config = json.loads((run / "config.json").read_text())
    state = json.loads((run / "state.json").read_text()) if (run / "state.json").is_file() else {}
    gan = is_gan_run(config)
    lr = f"Adam {config['g_lr']:g}" if gan else f"Adam {config['learning_rate']:g} cosine to 1 %"
    steps = state.get("step", config["steps"])
    # A run stopped before its schedule ended never reached the schedule's low learning rates.
    steps_text = f"{steps} steps"
    if steps < config["steps"]:
        steps_text = f"{steps} of {config['steps']} steps (stopped early)"
    lines = [
        f"- **Training**: {'GAN (L2 + LPIPS + adversarial, EMA weights)' if gan else 'L2 (MSE)'}; "
        f"data `{config['data']}` (lossless photos; no evaluation set), patch {config['patch']}, "
        f"batch {config['batch']}, {steps_text}, {lr}",
        f"- **JPEG quality range**: {config['quality'][0]}–{config['quality'][1]} (Pillow, 4:2:0; "
        f"{config.get('gray_fraction', 0):.0%} of patches grayscale)",
        "- **Loss weights**: "
        + (
            f"pixel (MSE) {config['pixel_weight']}, LPIPS-alex {config['lpips_weight']}, "
            f"adversarial {config['adv_weight']} ({config['adversarial']}), warm-up {config['warmup']} steps"
            if gan
            else "MSE only"
        ),
    ]
    if config.get("init"):
        lines.append(f"- **Initialised from**: `{config['init']}` as it was when this run started")
    return lines


def architecture_line(config: dict) -> str:
    return f"- **Architecture**: `{config['model']}` {config.get('model_kwargs') or '(builder defaults)'}"


def model_card(name: str, run: Path, generator, reports: list[Path], earlier: list[Path]) -> str:
    """The Markdown model card; `earlier` are the run folders of earlier training stages, oldest first."""
    config = json.loads((run / "config.json").read_text())
    info = describe(generator)
    lines = [
        f"# shipped:{name}",
        "",
        f"{architecture_line(config)}; see `baselines/s2dnet.py`",
        f"- **Parameters**: {info['parameters']:,}",
        f"- **FLOPs per pixel**: {info['flops_per_pixel'] / 1e3:.0f} k (multiply-add = 2)",
        *stage_lines(run),
    ]
    validation = (
        f"Validation: grid-aligned {config['val_size']}-px centre crops of the images held out of "
        f"`{config['data']}` (split seed {runs.split_seed(config)}), PSNR in dB and LPIPS-alex "
        "at fixed qualities."
    )
    lines += ["", "## Training curve", "", validation, "", training_curve(run), ""]
    for number, stage in enumerate(earlier, 1):
        stage_config = json.loads((stage / "config.json").read_text())
        lines += [f"### Earlier stage {number}: `{stage.name}`", "", architecture_line(stage_config)]
        lines += [*stage_lines(stage), ""]
        lines += [training_curve(stage), ""]
    lines += ["## `unjpeg compare` on the development sets", ""]
    for report in reports:
        lines += [compare_table(report), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder with generator.keras and config.json")
    parser.add_argument("--name", required=True, help="shipped name, e.g. l2 or gan")
    parser.add_argument("--reports", nargs="*", type=Path, default=[], help="compare report folders")
    parser.add_argument(
        "--earlier", nargs="*", type=Path, default=[], help="run folders of earlier stages, oldest first"
    )
    args = parser.parse_args()
    source = args.run / "generator.keras"
    generator = load_keras_generator(source)
    SHIPPED_DIR.mkdir(exist_ok=True)
    shutil.copyfile(source, SHIPPED_DIR / f"{args.name}.keras")
    card = model_card(args.name, args.run, generator, args.reports, args.earlier)
    (SHIPPED_DIR / f"{args.name}.md").write_text(card + "\n")
    print(f"shipped {SHIPPED_DIR / args.name}.keras ({source.stat().st_size / 2**20:.1f} MiB) and its card")


if __name__ == "__main__":
    main()
