"""`unjpeg train`: L2 training of a baseline generator (`baselines.train`), from the command line.

Options merge by `unjpeg.options.merged_config`; the --init source (shipped:NAME, a run folder or a .keras
file) is resolved here by `unjpeg.sources`, and the library gets the loaded generator.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from unjpeg.baselines import runs
from unjpeg.baselines.models import MODELS
from unjpeg.baselines.precision import Precision, choose_precision, gpu_available
from unjpeg.options import add_run_options, given_run_options, merged_config
from unjpeg.sources import keras_path, load_keras_generator

log = logging.getLogger("unjpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    add_builder_arguments(parser)
    parser.add_argument(
        "--init",
        help="start from this generator (shipped:NAME, run folder or .keras); s2dnet may grow --blocks",
    )
    parser.add_argument(
        "--loss",
        choices=("mse", "psnr"),
        help="mse (default), or psnr: each patch's −PSNR, so near-lossless patches weigh as much as q10 ones",
    )
    add_run_options(parser)


def add_builder_arguments(parser: argparse.ArgumentParser) -> None:
    """The s2dnet builder options that `builder_kwargs` reads; shared with `unjpeg train-gan`."""
    parser.add_argument("--blocks", type=int, help="s2dnet residual blocks (default 4)")
    parser.add_argument(
        "--conditioned",
        action="store_true",
        default=None,
        help="s2dnet takes the JPEG's quantization tables as a second input (FiLM per block)",
    )


def builder_kwargs(args: argparse.Namespace, model: str) -> dict:
    """The `build_model` kwargs given on the command line (--width, --blocks, --conditioned); {} if none."""
    for flag, value in (("--blocks", args.blocks), ("--conditioned", args.conditioned)):
        if value and model != "s2dnet":
            raise ValueError(f"{flag} applies to s2dnet only, not {model}")
    builder = {"width": args.width, "num_blocks": args.blocks, "conditioned": args.conditioned}
    return {key: value for key, value in builder.items() if value}


def init_path(source: str) -> Path:
    """The `.keras` file behind `source`: shipped:NAME, a run folder (generator, else checkpoint) or a file."""
    path = keras_path(source)
    if path is None:
        raise runs.RunFolderError(f"{source}: --init needs shipped:NAME, a run folder or a .keras generator")
    return path


def chosen_precision(requested: str | None, resume: bool, saved: dict, **hardware) -> Precision | None:
    """The precision asked for (auto when not given on a new run), or None on --resume without one given:
    the run's own, kept by the merge. `hardware` goes to `choose_precision` (gpu, mixed_float16)."""
    if requested is None and resume and not hardware.get("mixed_float16"):
        return None
    return choose_precision(requested or "auto", gpu=gpu_available(), **hardware)


def log_precision(chosen: Precision | None, name: str) -> None:
    log.info(chosen.describe() if chosen else f"precision: {name} (kept from the run being resumed)")


def run(args: argparse.Namespace) -> int:
    from unjpeg.baselines.train import TrainConfig, train

    kwargs = builder_kwargs(args, args.model)
    saved = runs.load_config(args.out) if args.resume else runs.split_of_init(args.init)
    precision = chosen_precision(args.precision, args.resume, saved)
    given = {
        **given_run_options(args),
        "model": args.model,
        "model_kwargs": {**saved.get("model_kwargs", {}), **kwargs}
        if kwargs and args.resume
        else kwargs or None,
        "init": args.init,
        "learning_rate": args.lr,
        "loss": args.loss,
        "precision": precision.name if precision else None,
    }
    config = merged_config(TrainConfig, given, saved, args.resume, args.epochs)
    log_precision(precision, config.precision)
    init = None
    if config.init:
        path = None if args.resume else init_path(config.init)  # a bad --init fails before the run folder
        init = lambda: load_keras_generator(path or init_path(config.init))  # noqa: E731
    out = train(config, resume=args.resume, force=args.force, init=init)
    log.info("generator: %s", out / "generator.keras")
    return 0
