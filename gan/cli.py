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


def chosen_command(argv: list[str] | None) -> str:
    """The subcommand named in `argv` (its first word not starting with '-'), or "" if none is."""
    words = sys.argv[1:] if argv is None else argv
    return next((word for word in words if not word.startswith("-")), "")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `unjpeg` parser. Given `command`, only that subcommand's module is imported and its options
    added (none for ""), so `unjpeg restore --model x.onnx` never imports Keras or the training code."""

    def wanted(name: str) -> bool:
        return command in (None, name)

    parser = argparse.ArgumentParser(prog="unjpeg", description="Remove JPEG compression artifacts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a baseline generator with L2 loss")
    if wanted("train"):
        from baselines.models import MODELS

        train.add_argument("--model", required=True, choices=sorted(MODELS))
        add_data_options(train)
        train.set_defaults(run=run_train)

    gan_parser = commands.add_parser("train-gan", help="fine-tune with L2 + LPIPS + adversarial loss")
    if wanted("train-gan"):
        from gan import train_gan

        train_gan.add_arguments(gan_parser)
        gan_parser.set_defaults(run=train_gan.run)

    compare_parser = commands.add_parser("compare", help="score models against plain JPEG; write a report")
    if wanted("compare"):
        from gan import compare

        compare.add_arguments(compare_parser)
        compare_parser.set_defaults(run=compare.run)

    restore_parser = commands.add_parser("restore", help="restore photos at full resolution")
    if wanted("restore"):
        from gan import restore

        restore.add_arguments(restore_parser)
        restore_parser.set_defaults(run=restore.run)

    demo_parser = commands.add_parser(
        "demo", help="compare jpeg, shipped:l2 and shipped:gan on bundled photos"
    )
    if wanted("demo"):
        from gan import demo

        demo.add_arguments(demo_parser)
        demo_parser.set_defaults(run=demo.run)

    export_parser = commands.add_parser("export", help="export a generator (keras, savedmodel, tflite, onnx)")
    if wanted("export"):
        from gan import export

        export.add_arguments(export_parser)
        export_parser.set_defaults(run=export.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(chosen_command(argv)).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        code = args.run(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"unjpeg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"unjpeg {args.command}: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
