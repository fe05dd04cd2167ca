"""Command-line options for data and schedule, shared by `unjpeg train` and `unjpeg train-gan`."""

from __future__ import annotations

import argparse

from unjpeg.data.jpeg import parse_quality


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, help="folder of photos (searched recursively) or cifar10:PATH"
    )
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    parser.add_argument("--quality", default="10-50", help="JPEG quality, fixed (30) or a range (10-50)")
    parser.add_argument(
        "--patch", type=int, help="training patch side in px (default 128; at most 32 for CIFAR)"
    )
    parser.add_argument("--batch", type=int, help="patches per step (default 16 for train, 8 for train-gan)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--steps", type=int, help="training steps in all (default 5000 for train, 6000 for train-gan)"
    )
    group.add_argument("--epochs", type=int, help="epochs of --checkpoint-every steps")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps per epoch and checkpoint")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int, help="seeds patches and weights (default 1)")
    parser.add_argument(
        "--split-seed",
        type=int,
        help="seeds the train/validation split by image (default: the --init run folder's, else 1)",
    )
    parser.add_argument(
        "--grid-offsets", action="store_true", help="random JPEG grid offsets (shifted JPEGs)"
    )
    parser.add_argument("--gray-fraction", type=float, help="share of patches made grayscale (default 0.15)")
    parser.add_argument("--width", type=int, help="generator width (builder default if omitted)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--force", action="store_true", help="replace an existing run folder")


def data_config(args: argparse.Namespace, saved: dict | None = None) -> dict:
    """The config fields that `add_data_options` sets; --epochs counts checkpoint intervals.

    An option left out takes its value from `saved` (the config of a run being resumed), else it is left
    out of the dict, so the config dataclass's default (that of the README's runs) applies.
    """
    saved = saved or {}
    every = max(1, args.checkpoint_every)
    steps = args.epochs * every if args.epochs else args.steps or saved.get("steps")
    given = {
        "patch": args.patch,
        "batch": args.batch,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "gray_fraction": args.gray_fraction,
        "steps": steps,
    }
    return {
        "data": args.data,
        "out": args.out,
        "quality": parse_quality(args.quality),
        "grid_offsets": args.grid_offsets,
        "steps_per_epoch": min(every, steps) if steps else every,
        **{key: saved[key] for key in given if given[key] is None and key in saved},
        **{key: value for key, value in given.items() if value is not None},
    }
