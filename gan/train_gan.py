"""GAN fine-tuning of an L2-trained generator with pixel + LPIPS + adversarial loss (ESRGAN phase 2).

    unjpeg train --model s2dnet --data PHOTOS --out runs/s2dnet_l2
    unjpeg train-gan --generator s2dnet --init runs/s2dnet_l2 --data PHOTOS --out runs/s2dnet_gan
    unjpeg train-gan --generator s2dnet --data PHOTOS --out runs/s2dnet_gan --steps 20000 --resume

The skeleton (run folder, patches, schedule, checkpoints, the non-finite guard) is
`baselines.training_loop`'s. The run folder holds config.json (`GanConfig`), state.json, log.csv,
tensorboard/, samples/epoch_NNNN.png (JPEG | restored by the EMA generator | original), checkpoints/
(tf.train.Checkpoint of G, D, EMA and both optimizers, the last good one only), generator.keras (the EMA
generator, float32) and generator_l2.keras (the init generator, for network interpolation between the L2
and the GAN weights).

Scale: training runs under the strategy of `gan.distribute.make_strategy` (all GPUs, else the CPU; several
machines through TF_CONFIG). `batch` is the GLOBAL batch, split over the replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf
from unjpeg.baselines import runs, training_loop
from unjpeg.baselines.conditioning import is_conditioned
from unjpeg.baselines.luma_consistency import check_consistency
from unjpeg.baselines.models import CUSTOM_OBJECTS, build_model
from unjpeg.baselines.precision import POLICIES, dtype_policy
from unjpeg.baselines.train import init_weights
from unjpeg.gan.discriminator import build_patch_discriminator
from unjpeg.gan.distribute import make_strategy
from unjpeg.gan.model import JpegGAN, LossWeights, checkpoint_manager, export_generator, validate
from unjpeg.losses.lpips import LPIPS, LPIPS_MIN_SIDE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GanConfig(training_loop.RunConfig):
    """GAN fine-tuning settings; the defaults are those of the README's runs.

    Loss weights: `gan.model.LossWeights`'s; learning rates and Adam betas (0.9, 0.99) as Real-ESRGAN's GAN
    stage (train_realesrgan_x4plus.yml). `split_seed` should be the L2 run's, so validation stays unseen.
    """

    FIXED_ON_RESUME = (*training_loop.RunConfig.FIXED_ON_RESUME, "d_width", "d_stages", "spectral_norm")

    batch: int = 8  # global batch, split over the replicas
    steps: int = 6_000
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    warmup: int = 250  # generator updates without the adversarial term; D trains from the start
    pixel_loss: str = "mse"  # a gan.model.PIXEL_LOSSES key
    pixel_weight: float = LossWeights.pixel  # PSNR_PIXEL_WEIGHT suits pixel_loss "psnr"
    lpips_weight: float = LossWeights.lpips
    adv_weight: float = LossWeights.adversarial
    adversarial: str = "ragan"
    ema_decay: float = 0.999
    d_width: int = 32
    d_stages: int = 3
    spectral_norm: bool = True
    devices: int = 0  # 0: every GPU, else the CPU


def load_init_generator(init: str | Path, model: str, model_kwargs: dict | None = None):
    """The generator to fine-tune, rebuilt float32 by `build_model`, and its builder kwargs.

    `init` is an L2 run folder (its `generator.keras`, else the `checkpoint.keras` of an unfinished run;
    its config gives the builder kwargs) or a `.keras` generator such as a shipped model, whose kwargs
    `model_kwargs` must give. `model_kwargs` may also grow the init (more s2dnet blocks or width,
    `conditioned`): `baselines.train.init_weights` copies it by layer name, so the grown generator starts
    computing exactly what `init` did. Stops with a clear error if the init run trained another model
    than `model`.
    """
    init = Path(init)
    kwargs = dict(model_kwargs or {})
    if init.is_dir():
        config = runs.load_config(init)
        trained = config.get("model")
        if trained != model:
            raise runs.RunFolderError(
                f"{init}: the init run trained {trained!r}, not {model!r}; pass --generator {trained}"
            )
        kwargs = {**config.get("model_kwargs", {}), **kwargs}
        path = init / "generator.keras"
        if not path.is_file():
            path = init / "checkpoint.keras"
        if not path.is_file():
            raise FileNotFoundError(
                f"{init}: no generator.keras nor checkpoint.keras; train the L2 run first"
            )
    elif init.suffix == ".keras" and init.is_file():
        path = init
    else:
        raise FileNotFoundError(f"{init}: --init needs an L2 run folder, shipped:NAME or a .keras generator")
    with dtype_policy("float32"):
        generator = build_model(model, **kwargs)
    init_weights(generator, keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False))
    return generator, kwargs


def build_gan(config: GanConfig, init_weights: list | None = None) -> JpegGAN:
    """The compiled `JpegGAN` of `config`, G and its EMA starting from `init_weights` (else the builder's
    initialisation, e.g. before restoring a checkpoint); call under a strategy scope and under the dtype
    policy of `config.precision`."""
    generator = build_model(config.model, **config.model_kwargs)
    if init_weights is not None:
        generator.set_weights(init_weights)
    gan = JpegGAN(
        generator,
        build_patch_discriminator(config.d_width, config.d_stages, config.spectral_norm),
        LPIPS(
            "alex",
            value_range=(0, 1),
            training_dtype="bfloat16" if config.precision == "bfloat16" else "float32",
        ),
        LossWeights(config.pixel_weight, config.lpips_weight, config.adv_weight),
        adversarial=config.adversarial,
        pixel_loss=config.pixel_loss,
        consistency=config.consistency,
        warmup_steps=config.warmup,
        ema_decay=config.ema_decay,
    )
    optimizers = [keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.99) for lr in (config.g_lr, config.d_lr)]
    if config.precision == "float16":  # bfloat16 has float32's exponent range: no loss scaling
        optimizers = [keras.optimizers.LossScaleOptimizer(optimizer) for optimizer in optimizers]
    gan.compile(g_optimizer=optimizers[0], d_optimizer=optimizers[1])
    gan.build_optimizers()
    return gan


def train_gan(
    config: GanConfig,
    resume: bool = False,
    force: bool = False,
    init: Callable[[], keras.Model] | None = None,
) -> Path:
    """Fine-tune the generator that `init` returns; returns the run folder holding generator.keras (EMA).

    `init` gives the float32 L2 generator (see `load_init_generator`); it is needed, and called, only when
    the run starts from step 0 (a new run, or --resume without a checkpoint). Raises `TrainingDiverged`.
    """
    if config.patch < LPIPS_MIN_SIDE:
        raise ValueError(f"--patch must be at least {LPIPS_MIN_SIDE} px for LPIPS, got {config.patch}")
    check_consistency(config)
    strategy = make_strategy(config.devices)  # first: logical devices exist only before TensorFlow starts
    out, state = training_loop.start_run(config, resume, force)
    found = resume and tf.train.latest_checkpoint(str(out / "checkpoints")) is not None
    init_weights = None  # on resume, the checkpoint holds every weight
    if not found:
        if init is None:
            raise ValueError(
                "--init is required: the L2 run folder, shipped:NAME or .keras generator to fine-tune"
            )
        generator, state = init(), {"step": 0, "epoch": 0}
        generator.save(out / "generator_l2.keras")
        init_weights = generator.get_weights()
    training_loop.log_start(out, resume, state, config)
    runs.save_config(out, config)

    log.info("%d replica(s), global batch %d", strategy.num_replicas_in_sync, config.batch)
    with dtype_policy(POLICIES[config.precision]), strategy.scope():
        gan = build_gan(config, init_weights)
        manager = checkpoint_manager(gan, out / "checkpoints")
        if found:
            manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        with_tables = is_conditioned(gan.generator)
        dataset, val_pairs = training_loop.patch_data(
            config, state, config.patch, config.val_size, with_tables
        )
        monitor = training_loop.RunMonitor(
            out,
            config,
            state,
            validate=lambda trained: validate(trained, val_pairs),
            save_checkpoint=lambda step: manager.save(checkpoint_number=step),
        )
        training_loop.fit_run(gan, dataset, monitor)
        if monitor.diverged and manager.latest_checkpoint:
            manager.checkpoint.restore(manager.latest_checkpoint)
    if manager.latest_checkpoint:
        export_generator(gan, config.model, config.model_kwargs, out / "generator.keras")
    training_loop.check_diverged(out, monitor, manager.latest_checkpoint is not None)
    return out
