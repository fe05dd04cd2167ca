"""The `unjpeg` command: one subcommand per job, each importing its heavy modules only when run."""

from __future__ import annotations

import argparse
import logging
import os
import sys

# TensorFlow's C++ start-up chatter hides the one line a user needs to read.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

log = logging.getLogger("unjpeg")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Data and schedule options shared by `train` and `train-gan`."""
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--grid-offsets", action="store_true", help="random JPEG grid offsets (shifted JPEGs)"
    )
    parser.add_argument("--gray-fraction", type=float, default=0.0, help="share of patches made grayscale")
    parser.add_argument("--width", type=int, help="generator width (builder default if omitted)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--force", action="store_true", help="replace an existing run folder")


def schedule(args: argparse.Namespace) -> dict:
    """Resolve --steps/--epochs/--checkpoint-every into config fields."""
    every = max(1, args.checkpoint_every)
    steps = args.epochs * every if args.epochs else (args.steps or 10_000)
    return {"steps": steps, "steps_per_epoch": min(every, steps)}


def run_train(args: argparse.Namespace) -> None:
    from baselines.train import TrainConfig, train
    from data.jpeg import parse_quality

    config = TrainConfig(
        model=args.model,
        data=args.data,
        out=args.out,
        quality=parse_quality(args.quality),
        patch=args.patch,
        batch=args.batch,
        seed=args.seed,
        grid_offsets=args.grid_offsets,
        gray_fraction=args.gray_fraction,
        model_kwargs={"width": args.width} if args.width else {},
        **({"learning_rate": args.lr} if args.lr else {}),
        **schedule(args),
    )
    out = train(config, resume=args.resume, force=args.force)
    print(f"generator: {out / 'generator.keras'}")


def build_parser() -> argparse.ArgumentParser:
    from baselines.models import MODELS

    parser = argparse.ArgumentParser(prog="unjpeg", description="Remove JPEG compression artifacts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a baseline generator with L2 loss")
    train.add_argument("--model", required=True, choices=sorted(MODELS))
    add_data_options(train)
    train.set_defaults(run=run_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"unjpeg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unjpeg {args.command}: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
