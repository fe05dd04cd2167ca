"""The `unjpeg` command: one subcommand per job, each importing its heavy modules only when run."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# TensorFlow's C++ start-up chatter hides the one line a user needs to read.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

log = logging.getLogger("unjpeg")

# Each module has add_arguments(parser) and run(args), and imports TensorFlow only inside run.
COMMANDS = {
    "train": ("unjpeg.baselines.train", "train a baseline generator with L2 loss"),
    "train-gan": ("unjpeg.gan.train_gan", "fine-tune with L2 + LPIPS + adversarial loss"),
    "compare": ("unjpeg.compare", "score models against plain JPEG; write a report"),
    "restore": ("unjpeg.restore", "restore photos at full resolution"),
    "export": ("unjpeg.export", "export a generator (keras, savedmodel, tflite, onnx)"),
    "demo": ("unjpeg.demo", "compare jpeg, shipped:l2 and shipped:gan on bundled photos"),
}


def chosen_command(argv: list[str] | None) -> str:
    """The subcommand named in `argv` (its first word not starting with '-'), or "" if none is."""
    words = sys.argv[1:] if argv is None else argv
    return next((word for word in words if not word.startswith("-")), "")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `unjpeg` parser. Given `command`, only that subcommand's module is imported and its options
    added (none for ""), so `unjpeg restore --model x.onnx` never imports Keras or the training code."""

    parser = argparse.ArgumentParser(prog="unjpeg", description="Remove JPEG compression artifacts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, (module_name, summary) in COMMANDS.items():
        command_parser = commands.add_parser(name, help=summary)
        if command in (None, name):
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(run=module.run)
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
