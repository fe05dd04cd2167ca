"""`unjpeg train-gan`: fine-tune an L2-trained generator with pixel + LPIPS + adversarial loss (ESRGAN phase 2).

    unjpeg train --model s2dnet --data PHOTOS --out runs/s2dnet_l2
    unjpeg train-gan --generator s2dnet --init runs/s2dnet_l2 --data PHOTOS --out runs/s2dnet_gan
    unjpeg train-gan --generator s2dnet --data PHOTOS --out runs/s2dnet_gan --steps 20000 --resume

The run folder follows `baselines.runs`: config.json (`GanConfig`), state.json, log.csv, tensorboard/,
samples/epoch_NNNN.png (JPEG | restored by the EMA generator | original), checkpoints/ (tf.train.Checkpoint of
G, D, EMA and both optimizers, the last good one only), generator.keras (the EMA generator, float32) and
generator_l2.keras (the init generator, for network interpolation between the L2 and the GAN weights).
A non-finite logged loss stops the run at that step, naming the term; the last good checkpoint is kept.

Scale: training runs under the strategy of `gan.distribute.make_strategy` (all GPUs, else the CPU; several
machines through TF_CONFIG). `--batch` is the GLOBAL batch, split over the replicas.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

log = logging.getLogger(__name__)

# Settings that fix the shape of the checkpoint: a resumed run must keep them.
FIXED_ON_RESUME = ("model", "model_kwargs", "d_width", "d_stages", "spectral_norm", "mixed_precision")
# GanConfig fields set by a train-gan option of the same name.
ARG_FIELDS = ("init", "warmup", "pixel_weight", "lpips_weight", "adv_weight", "adversarial", "ema_decay")
ARG_FIELDS += ("d_width", "mixed_precision", "devices")


@dataclass(frozen=True)
class GanConfig:
    """GAN fine-tuning settings; the defaults are those of the README's runs.

    Loss weights as `gan.model.LossWeights`; learning rates and Adam betas (0.9, 0.99) as Real-ESRGAN's
    GAN stage (train_realesrgan_x4plus.yml); `quality` = data.jpeg.DEFAULT_QUALITY_RANGE (FBCNN).
    """

    model: str
    init: str  # the L2 run folder whose generator is fine-tuned
    data: str
    out: str
    quality: tuple[int, int] = (10, 50)
    patch: int = 128
    batch: int = 8  # global batch, split over the replicas
    steps: int = 6_000
    steps_per_epoch: int = 250  # one epoch is also the checkpoint interval
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    warmup: int = 250  # generator updates without the adversarial term; D trains from the start
    pixel_weight: float = 100.0
    lpips_weight: float = 2.0
    adv_weight: float = 5e-3
    adversarial: str = "ragan"
    ema_decay: float = 0.999
    d_width: int = 32
    d_stages: int = 3
    spectral_norm: bool = True
    mixed_precision: bool = False
    devices: int = 0  # 0: every GPU, else the CPU
    seed: int = 1  # patches and weights
    split_seed: int = 1  # the train/validation split: keep the L2 run's, so validation stays unseen
    val_fraction: float = 0.1
    val_qualities: tuple[int, ...] = (10, 30)
    val_size: int = 256
    grid_offsets: bool = False
    gray_fraction: float = 0.15
    model_kwargs: dict = field(default_factory=dict)  # taken from the init run

    @property
    def epochs(self) -> int:
        return -(-self.steps // self.steps_per_epoch)


class TrainingDiverged(ValueError):
    """A logged loss became NaN or infinite; the message names the step and the terms."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from unjpeg.baselines.models import MODELS
    from unjpeg.data.options import add_data_options

    parser.add_argument(
        "--generator", required=True, choices=sorted(MODELS), help="must match --init's model"
    )
    parser.add_argument("--init", help="L2 run folder to start from (default on --resume: the saved one)")
    add_data_options(parser)
    gan = parser.add_argument_group("GAN (defaults: gan.train_gan.GanConfig)")
    gan.add_argument("--warmup", type=int, help="steps without the adversarial term (default 250)")
    gan.add_argument("--pixel-weight", type=float, help="weight of the MSE term (default 100)")
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


def config_from_args(args: argparse.Namespace) -> GanConfig:
    """The run's config: command-line values, else (on --resume) the saved run's, else GanConfig's."""
    from unjpeg.baselines import runs
    from unjpeg.data.options import data_config

    # Options left unset (None) take the saved run's value on --resume, else GanConfig's default.
    chosen = {name: getattr(args, name) for name in ARG_FIELDS}
    chosen.update(
        g_lr=args.g_lr or args.lr,
        d_lr=args.d_lr or args.lr,
        model_kwargs={"width": args.width} if args.width else None,
        d_stages=None,
        spectral_norm=None,
    )
    saved = runs.load_config(args.out) if args.resume else runs.split_of_init(args.init)
    chosen = {key: saved.get(key) if value is None else value for key, value in chosen.items()}
    if chosen["init"] is None:
        raise ValueError("--init RUN is required: the L2 run folder whose generator is fine-tuned")
    return GanConfig(
        model=args.generator,
        **data_config(args, saved),
        **{key: value for key, value in chosen.items() if value is not None},
    )


def run(args: argparse.Namespace) -> None:
    out = train_gan(config_from_args(args), resume=args.resume, force=args.force)
    log.info("generator (EMA): %s", out / "generator.keras")


def load_init_generator(init: str | Path, model: str):
    """The init run's generator, rebuilt float32 by `build_model`, and its builder kwargs.

    Reads `init/generator.keras`, else `init/checkpoint.keras` (an unfinished L2 run). Stops with a clear
    error if the init run trained another model than `model`.
    """
    import keras
    from unjpeg.baselines import runs
    from unjpeg.baselines.models import build_model
    from unjpeg.gan.model import dtype_policy

    init = Path(init)
    trained = runs.load_config(init).get("model")
    if trained != model:
        raise runs.RunFolderError(
            f"{init}: the init run trained {trained!r}, not {model!r}; pass --generator {trained}"
        )
    path = init / "generator.keras"
    if not path.is_file():
        path = init / "checkpoint.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{init}: no generator.keras nor checkpoint.keras; train the L2 run first")
    kwargs = runs.load_config(init).get("model_kwargs", {})
    with dtype_policy("float32"):
        generator = build_model(model, **kwargs)
    generator.set_weights(keras.models.load_model(path, compile=False).get_weights())
    return generator, kwargs


def build_gan(config: GanConfig, init_weights: list | None = None):
    """The compiled `JpegGAN` of `config`, G and its EMA starting from `init_weights` (else the builder's
    initialisation, e.g. before restoring a checkpoint); call under a strategy scope, and under the
    mixed_float16 policy for mixed precision."""
    import keras
    from unjpeg.baselines.models import build_model
    from unjpeg.gan.discriminator import build_patch_discriminator
    from unjpeg.gan.model import JpegGAN, LossWeights
    from unjpeg.losses.lpips import LPIPS

    generator = build_model(config.model, **config.model_kwargs)
    if init_weights is not None:
        generator.set_weights(init_weights)
    gan = JpegGAN(
        generator,
        build_patch_discriminator(config.d_width, config.d_stages, config.spectral_norm),
        LPIPS("alex", value_range=(0, 1)),
        LossWeights(config.pixel_weight, config.lpips_weight, config.adv_weight),
        adversarial=config.adversarial,
        warmup_steps=config.warmup,
        ema_decay=config.ema_decay,
    )
    optimizers = [keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.99) for lr in (config.g_lr, config.d_lr)]
    if config.mixed_precision:
        optimizers = [keras.optimizers.LossScaleOptimizer(optimizer) for optimizer in optimizers]
    gan.compile(g_optimizer=optimizers[0], d_optimizer=optimizers[1])
    gan.build_optimizers()
    return gan


def train_gan(config: GanConfig, resume: bool = False, force: bool = False) -> Path:
    """Fine-tune `config.init`'s generator; returns the run folder holding generator.keras (EMA)."""
    import keras
    from unjpeg.baselines import runs
    from unjpeg.data.datasets import training_sets
    from unjpeg.data.patches import PatchConfig, patch_dataset, validation_pairs
    from unjpeg.gan.distribute import make_strategy
    from unjpeg.gan.model import GanMonitor, checkpoint_manager, dtype_policy, export_generator
    from unjpeg.losses.lpips import MIN_SIDE

    if config.patch < MIN_SIDE:
        raise ValueError(f"--patch must be at least {MIN_SIDE} px for LPIPS, got {config.patch}")
    strategy = make_strategy(config.devices)  # first: logical devices exist only before TensorFlow starts
    out = runs.prepare_run_folder(config.out, resume, force)
    init_weights = None  # on resume, the checkpoint holds every weight
    if resume:
        runs.check_same_model(out, config.model)
        saved = runs.load_config(out)
        for key in FIXED_ON_RESUME:
            if saved.get(key) != getattr(config, key):
                raise runs.RunFolderError(
                    f"{out}: this run has {key}={saved.get(key)!r}, cannot resume it "
                    f"with {key}={getattr(config, key)!r}"
                )
    else:
        init, init_kwargs = load_init_generator(config.init, config.model)
        if config.model_kwargs and config.model_kwargs != init_kwargs:
            raise ValueError(
                f"{config.init}: the init generator was built with {init_kwargs}, not {config.model_kwargs}"
            )
        config = replace(config, model_kwargs=init_kwargs)
        init.save(out / "generator_l2.keras")
        init_weights = init.get_weights()
    keras.utils.set_random_seed(config.seed)
    state = runs.read_state(out)
    runs.save_config(out, config)

    log.info("%d replica(s), global batch %d", strategy.num_replicas_in_sync, config.batch)
    with dtype_policy("mixed_float16" if config.mixed_precision else "float32"), strategy.scope():
        gan = build_gan(config, init_weights)
        manager = checkpoint_manager(gan, out / "checkpoints")
        if resume and manager.latest_checkpoint:
            manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            log.info("resuming %s from step %d", out, state["step"])
        elif resume:
            raise runs.RunFolderError(f"{out}: no checkpoint to resume from; start again with --force")

        train_set, val_set = training_sets(config.data, config.patch, config.val_fraction, config.split_seed)
        log.info("%d training and %d validation images", len(train_set.images), len(val_set.images))
        patches = PatchConfig(config.patch, tuple(config.quality), config.grid_offsets, config.gray_fraction)
        # A new seed per resumed segment, so a resumed run does not replay the patches it has seen.
        dataset = patch_dataset(train_set, patches, config.batch, seed=config.seed + state["epoch"])
        val_pairs = validation_pairs(val_set, tuple(config.val_qualities), config.val_size)
        monitor = GanMonitor(out, manager, config.steps_per_epoch, val_pairs)
        gan.fit(
            dataset,
            steps_per_epoch=config.steps_per_epoch,
            epochs=config.epochs,
            initial_epoch=state["epoch"],
            callbacks=[
                monitor,
                keras.callbacks.CSVLogger(str(out / "log.csv"), append=True),
                keras.callbacks.TensorBoard(str(out / "tensorboard"), update_freq=50, write_graph=False),
            ],
            shuffle=False,
            verbose=1 if os.environ.get("UNJPEG_QUIET") is None else 2,
        )
        if monitor.diverged and manager.latest_checkpoint:
            manager.checkpoint.restore(manager.latest_checkpoint)
    if manager.latest_checkpoint:
        export_generator(gan, config.model, config.model_kwargs, out / "generator.keras")
    if monitor.diverged:
        step = runs.read_state(out)["step"]
        kept = f"kept the checkpoint of step {step}" if manager.latest_checkpoint else "wrote no checkpoint"
        raise TrainingDiverged(f"{out}: {monitor.diverged}; {kept}")
    return out
