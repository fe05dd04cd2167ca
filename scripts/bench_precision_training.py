"""Training in float32 against bfloat16, in one run: L2 steps of s2dnet, then GAN steps from it.

    python scripts/bench_precision_training.py --data ../shared/data/train --out bench_precision_training.json
    python scripts/bench_precision_training.py --data PHOTOS --steps 300 --gan-steps 100 --patch 96 --batch 8

For each precision the L2 run trains the default s2dnet (or `--width`/`--blocks`) for `--steps` steps with
`unjpeg.baselines.train`, on the same seeds and so the same patches; then a GAN run of `--gan-steps` steps
(`unjpeg.gan.train_gan`, defaults of GanConfig) starts from the float32 L2 run, so that both GAN runs start
from the same weights. Steps per second are the trainers' own (log.csv's `steps_per_s`: the steps after the
first, tracing, one, without validation); PSNR and LPIPS are those of the run's validation images at the
last step. The CPU is read from /proc/cpuinfo. Timings are comparable only within one run on one machine:
a busy CPU inflates them, so read the ratios.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PRECISIONS = ("float32", "bfloat16")
COLUMNS = ("steps_per_s", "val_psnr_q10", "val_psnr_q30", "val_lpips_q10", "val_lpips_q30")


def last_row(run: Path) -> dict:
    """The last log.csv row of a run, as floats for the `COLUMNS` it has."""
    with open(run / "log.csv") as handle:
        row = list(csv.DictReader(handle))[-1]
    return {key: float(row[key]) for key in COLUMNS if key in row}


def train_both(args, root: Path) -> list[dict]:
    """One row per (stage, precision): {"stage", "precision", "steps", **last_row}."""
    from unjpeg.baselines.train import TrainConfig, train
    from unjpeg.gan.train_gan import GanConfig, load_init_generator, train_gan

    kwargs = {key: value for key, value in {"width": args.width, "num_blocks": args.blocks}.items() if value}
    common = dict(model="s2dnet", data=args.data, patch=args.patch, batch=args.batch, val_size=args.val_size)
    common |= dict(model_kwargs=kwargs, checkpoint_seconds=1e9)
    rows = []
    for precision in PRECISIONS:
        out = root / f"l2_{precision}"
        schedule = dict(steps=args.steps, checkpoint_every=args.steps, precision=precision)
        train(TrainConfig(**common, **schedule, out=str(out)), force=True)
        rows.append({"stage": "L2", "precision": precision, "steps": args.steps, **last_row(out)})
    for precision in PRECISIONS if args.gan_steps else ():
        out, init = root / f"gan_{precision}", root / "l2_float32"
        schedule = dict(steps=args.gan_steps, checkpoint_every=args.gan_steps, precision=precision)
        config = GanConfig(**common, **schedule, out=str(out), init=str(init))
        train_gan(config, force=True, init=lambda init=init: load_init_generator(init, "s2dnet")[0])
        rows.append({"stage": "GAN", "precision": precision, "steps": args.gan_steps, **last_row(out)})
    return rows


def speedups(rows: list[dict]) -> dict:
    """{stage: bfloat16 steps/s ÷ float32 steps/s} for each stage with both precisions."""
    speed = {(row["stage"], row["precision"]): row["steps_per_s"] for row in rows}
    stages = dict.fromkeys(row["stage"] for row in rows)
    return {
        stage: speed[stage, "bfloat16"] / speed[stage, "float32"]
        for stage in stages
        if (stage, "float32") in speed and (stage, "bfloat16") in speed
    }


def table(rows: list[dict]) -> list[str]:
    """The printed table: one line per row, then the speed-up and PSNR difference of bfloat16 per stage."""
    lines = [
        f"{'stage':<6}{'precision':<10}{'steps':>6}{'steps/s':>9}{'PSNR q10':>10}{'PSNR q30':>10}{'LPIPS q10':>11}"
    ]
    for row in rows:
        lpips = f"{row['val_lpips_q10']:.4f}" if "val_lpips_q10" in row else "-"
        lines.append(
            f"{row['stage']:<6}{row['precision']:<10}{row['steps']:>6}{row['steps_per_s']:>9.3f}"
            f"{row['val_psnr_q10']:>10.3f}{row['val_psnr_q30']:>10.3f}{lpips:>11}"
        )
    psnr = {(row["stage"], row["precision"]): row["val_psnr_q10"] for row in rows}
    for stage, ratio in speedups(rows).items():
        gap = psnr[stage, "bfloat16"] - psnr[stage, "float32"]
        lines.append(f"{stage}: bfloat16 {ratio:.2f}x the steps/s of float32, PSNR q10 {gap:+.3f} dB")
    return lines


def machine() -> dict:
    from unjpeg.baselines.precision import BF16_FLAGS, cpu_flags, cpu_model, read_cpuinfo

    cpuinfo = read_cpuinfo()
    return {
        "cpu": cpu_model(cpuinfo),
        "bf16_flags": sorted(set(BF16_FLAGS) & cpu_flags(cpuinfo)),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of photos (split into train and validation)")
    parser.add_argument("--steps", type=int, default=300, help="L2 steps per precision")
    parser.add_argument("--gan-steps", type=int, default=300, help="GAN steps per precision (0: no GAN)")
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--val-size", type=int, default=128, help="side of the validation crops")
    parser.add_argument("--width", type=int, help="s2dnet width (default: the builder's)")
    parser.add_argument("--blocks", type=int, help="s2dnet residual blocks (default: the builder's)")
    parser.add_argument("--runs", type=Path, help="folder for the run folders (default: a temporary one)")
    parser.add_argument(
        "--out", type=Path, default=Path("bench_precision_training.json"), help="JSON results"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")  # the trainers' progress

    with tempfile.TemporaryDirectory() as scratch:
        rows = train_both(args, args.runs or Path(scratch))
    settings = {key: getattr(args, key) for key in ("steps", "gan_steps", "patch", "batch", "val_size")}
    result = {**settings, **machine(), "rows": rows, "speedup": speedups(rows)}
    print(
        f"{result['cpu']} ({result['cpus']} CPUs, bfloat16 units: {', '.join(result['bf16_flags']) or 'none'})"
    )
    print("\n".join(table(rows)))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
