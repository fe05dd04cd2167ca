"""Ship a trained generator: copy it to unjpeg/shipped/NAME.keras and write its model card NAME.md.

    python scripts/ship_model.py runs/s2dnet_l2 --name l2 --reports report/cbsd68 report/mcmaster report/classic5
    python scripts/ship_model.py runs/s2dnet6_l2 --name l2 --earlier runs/s2dnet_l2 --reports report/cbsd68
    python scripts/ship_model.py runs/l2_real --name l2 --float16 --reports report/real_cbsd68

The card records the architecture, parameters, FLOPs per pixel, training data and schedule, loss weights,
and the `unjpeg compare` tables of the given report folders (each holds a metrics.json), one line per
model, consistency and condition (quality, chroma, double compression). Sections of an existing card that
the script does not write (a `## Why these loss weights`, say) are kept at its end.

`--float16` stores the weights as float16 in the `.keras` file (half the size in every clone's history);
Keras casts them back to the float32 variables on load. The script prints the largest change of any
weight and of the output on a probe image, so that the loss can be checked before it is committed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
from unjpeg.baselines import runs
from unjpeg.baselines.flops import describe
from unjpeg.data.jpeg import SUBSAMPLINGS

from unjpeg.report_columns import condition_of, fmt, label, value
from unjpeg.sources import SHIPPED_DIR, TABLES, load_keras_generator

# (key, header, digits) of the card's compare tables; a key a row lacks (the JPEG's Δ) shows as –.
CARD_COLUMNS = (
    ("psnr", "PSNR", 2),
    ("delta_psnr", "ΔPSNR", 2),
    ("worst_delta_psnr", "worst ΔPSNR", 2),
    ("psnr_y", "PSNR-Y", 2),
    ("ssim", "SSIM", 4),
    ("lpips", "LPIPS", 3),
    ("delta_lpips", "ΔLPIPS", 3),
    ("laplacian_var_ratio", "Laplacian-var ratio", 3),
    ("gradient_ratio", "gradient ratio", 3),
)
WEIGHTS_FILE = "model.weights.h5"  # the member of a .keras zip that holds the variables


def compare_table(report: Path) -> str:
    """A Markdown table of a compare report: one line per model (+consistency) and condition, sorted by
    quality, chroma and double compression; within a condition the report's order (JPEG first)."""
    metrics = json.loads((report / "metrics.json").read_text())
    header = ["model", "QF", "chroma", "double", *(name for _, name, _ in CARD_COLUMNS)]
    lines = [
        f"`{metrics['data']}` ({metrics['rows'][0]['n_images']} images)",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]

    def by_condition(row):  # quality as a number; chroma and double (None or "3,5@30") as text
        quality, subsampling, double = condition_of(row)
        return quality, subsampling, str(double)

    for row in sorted(metrics["rows"], key=by_condition):
        quality, subsampling, double = condition_of(row)
        cells = [label(row), str(quality), subsampling, double or "–"]
        cells += [fmt(value(row, key), digits) for key, _, digits in CARD_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def hand_written_sections(card: str) -> list[str]:
    """The `## ` sections of an existing card that `model_card` does not write, in their order."""
    generated = ("## Training curve", "## `unjpeg compare`")
    sections = re.split(r"(?m)^(?=## )", card)[1:]
    return [section.rstrip() for section in sections if not section.startswith(generated)]


def store_float16(source: Path, target: Path) -> None:
    """Copy the `.keras` file `source` to `target` with every float32 weight stored as float16.

    Only the zip member `model.weights.h5` changes; Keras casts each dataset to its float32 variable on
    load. A weight beyond float16's range (±65504) is refused rather than stored as infinity.
    """
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    weights = io.BytesIO()
    with h5py.File(io.BytesIO(members[WEIGHTS_FILE]), "r") as old, h5py.File(weights, "w") as new:

        def copy(name, item):
            if isinstance(item, h5py.Group):
                new.require_group(name).attrs.update(item.attrs)
                return
            data = item[()]
            if data.dtype == np.float32:
                if np.abs(data).max(initial=0.0) > np.finfo(np.float16).max:
                    raise ValueError(f"{source}: weight {name} exceeds float16's range")
                data = data.astype(np.float16)
            new.create_dataset(name, data=data).attrs.update(item.attrs)

        new.attrs.update(old.attrs)
        old.visititems(copy)
    members[WEIGHTS_FILE] = weights.getvalue()
    with zipfile.ZipFile(target, "w") as archive:  # stored, as Keras writes it
        for name, data in members.items():
            archive.writestr(name, data)


def float16_loss(source: Path, stored: Path) -> dict:
    """The largest |change| of a weight, and of the output on a fixed 64×64 probe, between `source` and
    its float16 copy `stored` (both float32 compute)."""
    original, rounded = load_keras_generator(source), load_keras_generator(stored)
    weight = max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max())
        for a, b in zip(original.weights, rounded.weights, strict=True)
    )
    probe = np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32)
    inputs = [probe, np.full((1, TABLES), 0.5, np.float32)] if len(original.inputs) == 2 else probe
    output = float(np.abs(np.asarray(original(inputs)) - np.asarray(rounded(inputs))).max())
    return {"weight": weight, "output": output}


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
        f"- **Training**: {training_kind(config)}; "
        f"data `{config['data']}` (lossless photos; no evaluation set), patch {config['patch']}, "
        f"batch {config['batch']}, {steps_text}, {lr}",
        degradation_line(config),
        "- **Loss weights**: "
        + (
            f"pixel ({pixel_loss_name(config)}) {config['pixel_weight']}, "
            f"LPIPS-alex {config['lpips_weight']}, adversarial {config['adv_weight']} "
            f"({config['adversarial']}), warm-up {config['warmup']} steps"
            if gan
            else f"{pixel_loss_name(config)} only"
        ),
    ]
    if config.get("init"):
        lines.append(f"- **Initialised from**: `{config['init']}` as it was when this run started")
    return lines


# The pixel loss of a run config (`loss` of an L2 run, `pixel_loss` of a GAN run) in words.
PIXEL_LOSS_NAMES = {"mse": "MSE", "psnr": "per-patch −PSNR"}


def pixel_loss_name(config: dict) -> str:
    return PIXEL_LOSS_NAMES[config.get("pixel_loss" if is_gan_run(config) else "loss", "mse")]


def training_kind(config: dict) -> str:
    """'L2 (MSE)', 'GAN (L2 + LPIPS + adversarial, EMA weights)', ..., and whether the losses scored the
    output after the luma JPEG-consistency projection (`--consistency-loss`)."""
    if is_gan_run(config):
        kind = "GAN (L2 + LPIPS + adversarial, EMA weights)"
    else:
        kind = f"L2 ({pixel_loss_name(config)})"
    if config.get("consistency"):
        kind += ", every loss on the output after the luma JPEG-consistency projection"
    return kind


def degradation_line(config: dict) -> str:
    """How the run's training JPEGs were made: classic (Pillow 4:2:0) or real (`data.degradations`)."""
    low, high = config["quality"]
    gray = f"{config.get('gray_fraction', 0):.0%} of patches grayscale"
    if config.get("degradation", "classic") != "real":
        return f"- **JPEG quality range**: {low}–{high} (Pillow, 4:2:0; {gray})"
    blind = (
        f"; {config['blind_fraction']:.0%} of patches without their tables"
        if "blind_fraction" in config
        else ""
    )
    weights = config.get("subsampling_weights", [1, 1, 1])
    layouts = " / ".join(
        mode if len(set(weights)) == 1 else f"{mode} ×{weight:g}"
        for mode, weight in zip(SUBSAMPLINGS, weights, strict=True)
    )
    return (
        f"- **JPEGs (real)**: quality {low}–{high} mixed with a high-quality share, {layouts}, "
        f"IJG tables rescaled per frequency for a share, shifted double compression for a share "
        f"(`data/degradations.py`); {gray}{blind}"
    )


def architecture_line(config: dict) -> str:
    return f"- **Architecture**: `{config['model']}` {config.get('model_kwargs') or '(builder defaults)'}"


def model_card(
    name: str,
    run: Path,
    generator,
    reports: list[Path],
    earlier: list[Path],
    kept: list[str] = (),
    float16: bool = False,
) -> str:
    """The Markdown model card; `earlier` are the run folders of earlier training stages, oldest first;
    `kept` are hand-written sections of the previous card, appended as they were."""
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
    if float16:
        lines.append(
            "- **Stored**: weights in float16 (`scripts/ship_model.py --float16`), computed in float32"
        )
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
    for section in kept:
        lines += ["", section, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="run folder with generator.keras and config.json")
    parser.add_argument("--name", required=True, help="shipped name, e.g. l2 or gan")
    parser.add_argument("--reports", nargs="*", type=Path, default=[], help="compare report folders")
    parser.add_argument(
        "--earlier", nargs="*", type=Path, default=[], help="run folders of earlier stages, oldest first"
    )
    parser.add_argument("--float16", action="store_true", help="store the weights as float16")
    args = parser.parse_args()
    source = args.run / "generator.keras"
    generator = load_keras_generator(source)
    SHIPPED_DIR.mkdir(exist_ok=True)
    target, card_path = SHIPPED_DIR / f"{args.name}.keras", SHIPPED_DIR / f"{args.name}.md"
    if args.float16:
        store_float16(source, target)
        loss = float16_loss(source, target)
        print(f"float16: largest weight change {loss['weight']:.2e}, output change {loss['output']:.2e}")
    else:
        shutil.copyfile(source, target)
    kept = hand_written_sections(card_path.read_text()) if card_path.is_file() else []
    card = model_card(args.name, args.run, generator, args.reports, args.earlier, kept, args.float16)
    card_path.write_text(card + "\n")
    print(f"shipped {target} ({target.stat().st_size / 2**20:.1f} MiB) and its card")


if __name__ == "__main__":
    main()
