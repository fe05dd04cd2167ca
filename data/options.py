"""Command-line options for data and schedule, shared by `unjpeg train` and `unjpeg train-gan`."""

from __future__ import annotations

import argparse

from data.jpeg import parse_quality


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, help="folder of photos (searched recursively) or cifar10:PATH"
    )
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    parser.add_argument("--quality", default="10-50", help="JPEG quality, fixed (30) or a range (10-50)")
    parser.add_argument("--patch", type=int, default=64, help="training patch side in px (default 64)")
    parser.add_argument("--batch", type=int, default=16, help="patches per step (default 16)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--steps", type=int, help="training steps in all (default 10000)")
    group.add_argument("--epochs", type=int, help="epochs of --checkpoint-every steps")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps per epoch and checkpoint")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the image split, patches and weights")
    parser.add_argument(
        "--grid-offsets", action="store_true", help="random JPEG grid offsets (shifted JPEGs)"
    )
    parser.add_argument("--gray-fraction", type=float, default=0.0, help="share of patches made grayscale")
    parser.add_argument("--width", type=int, help="generator width (builder default if omitted)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--force", action="store_true", help="replace an existing run folder")


def data_config(args: argparse.Namespace) -> dict:
    """The config fields that `add_data_options` sets, with --steps/--epochs resolved into steps per epoch."""
    every = max(1, args.checkpoint_every)
    steps = args.epochs * every if args.epochs else (args.steps or 10_000)
    return {
        "data": args.data,
        "out": args.out,
        "quality": parse_quality(args.quality),
        "patch": args.patch,
        "batch": args.batch,
        "seed": args.seed,
        "grid_offsets": args.grid_offsets,
        "gray_fraction": args.gray_fraction,
        "steps": steps,
        "steps_per_epoch": min(every, steps),
    }
