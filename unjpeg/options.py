"""Command-line options shared by `unjpeg train` and `unjpeg train-gan`, and the one rule that merges them.

Every option is merged the same way (`merged_config`): the command line, else the saved run (the config of
the run being resumed, or for a new stage the split seed of its --init run), else the config dataclass's
default. So a resumed run keeps everything it was started with unless told otherwise, and an option that
fixes the checkpoint (`FIXED_ON_RESUME` of the config class) cannot be changed on --resume.
"""

from __future__ import annotations

import argparse
import dataclasses

from unjpeg.baselines.precision import CHOICES
from unjpeg.baselines.runs import RunFolderError
from unjpeg.data.degradations import parse_subsampling_weights
from unjpeg.data.jpeg import REAL_QUALITY_RANGE, parse_quality
from unjpeg.data.patches import DEGRADATIONS

REAL_VAL_QUALITIES = (10, 30, 90)

# Keys of config.json files written before the names changed: old name -> new name.
RENAMED = {"steps_per_epoch": "checkpoint_every"}


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Data, run folder and schedule options. Their argparse default is None ("not given"), so that
    `merged_config` can tell a value given on the command line from a default."""
    parser.add_argument(
        "--data", required=True, help="folder of photos (searched recursively) or cifar10:PATH"
    )
    parser.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    parser.add_argument("--quality", help="JPEG quality, fixed (30) or a range (default 10-50)")
    parser.add_argument(
        "--patch", type=int, help="training patch side in px (default 128; at most 32 for CIFAR)"
    )
    parser.add_argument("--batch", type=int, help="patches per step (default 16 for train, 8 for train-gan)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--steps", type=int, help="training steps in all (default 5000 for train, 6000 for train-gan)"
    )
    group.add_argument("--epochs", type=int, help="epochs of --checkpoint-every steps")
    parser.add_argument(
        "--checkpoint-every", type=int, help="steps between validations and checkpoints (default 250)"
    )
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int, help="seeds patches and weights (default 1)")
    parser.add_argument(
        "--split-seed",
        type=int,
        help="seeds the train/validation split by image (default: the --init run folder's, else 1)",
    )
    parser.add_argument(
        "--grid-offsets",
        action=argparse.BooleanOptionalAction,
        help="random JPEG grid offsets (shifted JPEGs); default off",
    )
    parser.add_argument("--gray-fraction", type=float, help="share of patches made grayscale (default 0.15)")
    parser.add_argument(
        "--min-scale",
        type=float,
        help="scale augmentation: shrink each training region by a factor drawn from [MIN_SCALE, 1] "
        "(default 1: none)",
    )
    parser.add_argument(
        "--degradation",
        choices=DEGRADATIONS,
        help="classic: Pillow 4:2:0 at --quality (default); real: quality 5-100 weighted above 70, "
        "4:4:4/4:2:2/4:2:0, rescaled tables, shifted double JPEG",
    )
    parser.add_argument(
        "--subsampling-weights",
        metavar="420=W,422=W,444=W",
        help="with --degradation real: relative weights of the chroma layouts (default equal; "
        "a layout not named gets 0)",
    )
    parser.add_argument(
        "--blind-fraction",
        type=float,
        help="conditioned generators: share of patches trained without their tables (default 0.2)",
    )
    parser.add_argument(
        "--consistency-loss",
        action="store_true",
        default=None,
        help="score the output after the luma JPEG-consistency projection that restore applies "
        "(needs --conditioned)",
    )
    parser.add_argument("--width", type=int, help="generator width (builder default if omitted)")
    parser.add_argument(
        "--precision",
        choices=CHOICES,
        help="compute precision (default auto: bfloat16 on a CPU with AMX or AVX-512 BF16, else float32)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--force", action="store_true", help="replace an existing run folder")


def given_run_options(args: argparse.Namespace) -> dict:
    """The config fields that `add_run_options` sets, as given on the command line (None: not given).
    --epochs is resolved by `merged_config`, once `checkpoint_every` is known."""
    return {
        "data": args.data,
        "out": args.out,
        "quality": parse_quality(args.quality) if args.quality is not None else None,
        "patch": args.patch,
        "batch": args.batch,
        "steps": args.steps,
        "checkpoint_every": args.checkpoint_every,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "grid_offsets": args.grid_offsets,
        "gray_fraction": args.gray_fraction,
        "min_scale": args.min_scale,
        "degradation": args.degradation,
        "blind_fraction": args.blind_fraction,
        "subsampling_weights": (
            parse_subsampling_weights(args.subsampling_weights)
            if args.subsampling_weights is not None
            else None
        ),
        "consistency": args.consistency_loss,
        **real_defaults(args),
    }


def real_defaults(args: argparse.Namespace) -> dict:
    """With --degradation real: validated at 10, 30 and 90, since its high component (q70-100) is drawn
    whatever --quality says; without --quality, the broad range is the real one (5-100)."""
    if args.degradation != "real":
        return {}
    quality = {} if args.quality is not None else {"quality": REAL_QUALITY_RANGE}
    return {**quality, "val_qualities": REAL_VAL_QUALITIES}


def upgraded(saved: dict) -> dict:
    """A saved config.json with old keys renamed, and the precision of runs made before --precision."""
    saved = {RENAMED.get(key, key): value for key, value in saved.items()}
    if "precision" not in saved and "model" in saved:
        saved["precision"] = "float16" if saved.pop("mixed_precision", False) else "float32"
    return saved


def merged_config(config_class, given: dict, saved: dict, resume: bool, epochs: int | None = None):
    """`config_class(...)` from `given` (None: not given), else `saved`, else the dataclass defaults.

    On `resume`, a given value of a `FIXED_ON_RESUME` field that differs from the saved one is refused with
    a one-line `RunFolderError`. `epochs` (--epochs) sets `steps` to that many `checkpoint_every` intervals.
    """
    saved = upgraded(saved)
    defaults = {field.name: field for field in dataclasses.fields(config_class)}
    if resume:
        for key in config_class.FIXED_ON_RESUME:
            value, before = given.get(key), saved.get(key)
            if value is None or value == before:
                continue
            if key == "model":
                raise RunFolderError(
                    f"{given['out']}: this run trained {before!r}, cannot resume it as {value!r}"
                )
            raise RunFolderError(
                f"{given['out']}: this run has {key}={before!r}, cannot resume it with {key}={value!r}"
            )
    values = {key: value for key, value in saved.items() if key in defaults}
    values.update({key: value for key, value in given.items() if value is not None})
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    if epochs:
        every = values.get("checkpoint_every", defaults["checkpoint_every"].default)
        values["steps"] = epochs * every
    return config_class(**values)
