"""`unjpeg train-gan`: GAN fine-tuning of an L2 run's generator (`gan.train_gan`), from the command line.

Options merge by `unjpeg.options.merged_config`; the --init generator (an L2 run folder, shipped:NAME or a
.keras file) is resolved here and the library gets it float32, grown by --blocks / --conditioned if given.
"""

from __future__ import annotations

import argparse
import inspect
import logging
from pathlib import Path

from unjpeg.baselines import runs
from unjpeg.baselines.models import MODELS
from unjpeg.options import add_run_options, given_run_options, merged_config
from unjpeg.sources import keras_path
from unjpeg.train_cli import add_builder_arguments, builder_kwargs, chosen_precision, log_precision

log = logging.getLogger("unjpeg")

# GanConfig fields set by a train-gan option of the same name.
SAME_NAME = ("init", "warmup", "pixel_weight", "lpips_weight", "adv_weight", "adversarial", "ema_decay")
SAME_NAME += ("pixel_loss", "d_width", "devices")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--generator", required=True, choices=sorted(MODELS), help="must match --init's model"
    )
    parser.add_argument(
        "--init",
        help="generator to fine-tune: an L2 run folder, shipped:NAME or .keras (default on --resume: the "
        "saved one); a shipped or .keras init needs its --blocks, and --conditioned adds the tables input",
    )
    add_builder_arguments(parser)
    add_run_options(parser)
    gan = parser.add_argument_group("GAN (defaults: gan.train_gan.GanConfig)")
    gan.add_argument("--warmup", type=int, help="steps without the adversarial term (default 250)")
    gan.add_argument(
        "--pixel-loss",
        choices=("mse", "psnr"),
        help="pixel term: mse (default), or psnr: each patch's −PSNR, holding near-lossless patches firmly",
    )
    gan.add_argument(
        "--pixel-weight", type=float, help="weight of the pixel term (default 100 for mse, 0.033 for psnr)"
    )
    gan.add_argument("--lpips-weight", type=float, help="weight of the LPIPS-alex term (default 2)")
    gan.add_argument("--adv-weight", type=float, help="weight of the adversarial term (default 5e-3)")
    gan.add_argument(
        "--adversarial", choices=["bce", "ragan", "hinge"], help="adversarial loss (default ragan)"
    )
    gan.add_argument("--g-lr", type=float, help="generator learning rate (default --lr, else 1e-4)")
    gan.add_argument("--d-lr", type=float, help="discriminator learning rate (default --lr, else 1e-4)")
    gan.add_argument("--ema-decay", type=float, help="EMA decay of the exported generator (default 0.999)")
    gan.add_argument("--d-width", type=int, help="discriminator width (default 32)")
    gan.add_argument(
        "--mixed-precision", action="store_true", default=None, help="mixed_float16 compute, float32 export"
    )
    gan.add_argument("--devices", type=int, help="replicas: N GPUs, or N logical CPU devices without GPU")


def init_source(init: str) -> str:
    """The run folder, or the `.keras` file behind shipped:NAME or a path, that --init names; anything
    else is passed on for `load_init_generator` to refuse with what it needs."""
    if (Path(init) / "config.json").is_file():
        return init
    return str(keras_path(init) or init)


def init_kwargs(init: str, given: dict) -> dict:
    """The builder kwargs of the generator fine-tuned from --init: the init run's, grown by `given`
    (--blocks, --conditioned); a --width that differs from the run's is an error."""
    if not (Path(init) / "config.json").is_file():
        return dict(given)
    saved = runs.load_config(init)
    kwargs = saved.get("model_kwargs", {})
    width = given.get("width")
    # A run saves only the kwargs it was given: without "width" it was built at its builder's default.
    built = kwargs.get("width", inspect.signature(MODELS[saved["model"]]).parameters["width"].default)
    if width and built != width:
        raise ValueError(
            f"{init}: the init generator was built with width {built} ({kwargs}), not width {width}"
        )
    return {**kwargs, **given}


def config_from_args(args: argparse.Namespace):
    """The run's `GanConfig`, and the `Precision` chosen (None: the resumed run's own)."""
    from unjpeg.gan.model import PSNR_PIXEL_WEIGHT
    from unjpeg.gan.train_gan import GanConfig

    kwargs = builder_kwargs(args, args.generator)
    saved = runs.load_config(args.out) if args.resume else runs.split_of_init(args.init)
    precision = chosen_precision(args.precision, args.resume, saved, mixed_float16=bool(args.mixed_precision))
    given = {
        **given_run_options(args),
        **{name: getattr(args, name) for name in SAME_NAME},
        "model": args.generator,
        "g_lr": args.g_lr or args.lr,
        "d_lr": args.d_lr or args.lr,
        "precision": precision.name if precision else None,
    }
    if args.resume:
        given["model_kwargs"] = {**saved.get("model_kwargs", {}), **kwargs} if kwargs else None
    elif args.init:
        given["model_kwargs"] = init_kwargs(args.init, kwargs)
    if args.pixel_loss == "psnr" and args.pixel_weight is None and not args.resume:
        given["pixel_weight"] = PSNR_PIXEL_WEIGHT
    config = merged_config(GanConfig, given, saved, args.resume, args.epochs)
    if not config.init:
        raise ValueError(
            "--init is required: the L2 run folder, shipped:NAME or .keras generator to fine-tune"
        )
    return config, precision


def run(args: argparse.Namespace) -> int:
    from unjpeg.gan.train_gan import load_init_generator, train_gan

    config, precision = config_from_args(args)
    log_precision(precision, config.precision)

    def load():
        return load_init_generator(init_source(config.init), config.model, config.model_kwargs)[0]

    if args.resume:  # needed only if there is no checkpoint: read then
        init = load
    else:  # read first, so that a bad --init fails before the run folder is made
        generator = load()
        init = lambda: generator  # noqa: E731
    out = train_gan(config, resume=args.resume, force=args.force, init=init)
    log.info("generator (EMA): %s", out / "generator.keras")
    return 0
