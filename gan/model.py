"""`JpegGAN`: the generator fine-tuned with pixel + LPIPS + adversarial loss (phase 2 of ESRGAN's recipe).

The keras-io custom `train_step` pattern: a `keras.Model` holding a generator G, a discriminator D, a
frozen LPIPS and an exponential moving average (EMA) copy of G, compiled with one optimizer per network.
One forward pass under two tapes; each gradient is taken w.r.t. an explicit variable list, so nothing
toggles `trainable`. D scores real and restored images in one call (one spectral-norm power iteration
per step) and is updated on the same restored batch that G is (as BasicSR's alternating update, whose D
step reuses G's pre-update output).

Distribution: per-example losses are reduced with `tf.nn.compute_average_loss` (sum / GLOBAL batch), so the
cross-replica gradient sum of `tf.distribute` strategies gives the gradient of the global mean. The logged
values are per-replica means, which Keras averages over replicas.

Mixed precision: under a mixed policy (`mixed_bfloat16`, `mixed_float16`) G and D compute in 16 bits with
float32 variables; their outputs are cast to float32 before any loss. LPIPS is called with `training=True` for
the loss (its `training_dtype` trunk) and without for validation, which stays float32. Under
mixed_float16 the optimizers should be wrapped in `keras.optimizers.LossScaleOptimizer` (`scale_loss` is
called on every loss, a no-op for plain optimizers); bfloat16 has float32's exponent range and needs none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from unjpeg.baselines import training_loop
from unjpeg.baselines.conditioning import is_conditioned
from unjpeg.baselines.luma_consistency import LumaConsistency
from unjpeg.baselines.models import build_model
from unjpeg.baselines.precision import dtype_policy
from unjpeg.baselines.train import psnr_loss, psnr_per_image
from unjpeg.losses.adversarial import ADVERSARIAL_LOSSES

TRAIN_KEYS = ("g_loss", "g_pixel", "g_lpips", "g_adv", "d_loss", "d_real", "d_fake")
VAL_KEYS = ("psnr", "lpips")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator objective `pixel * pixel loss + lpips * LPIPS + adversarial * adversarial`.

    - adversarial 5e-3: ESRGAN (Wang et al. 2018, §4.1, λ = 5×10⁻³ with the RaGAN loss).
    - lpips 2.0: the perceptual term leads (ESRGAN and Real-ESRGAN weigh their VGG loss 1; why 2 here,
      as measured, is in the GAN model card, unjpeg/shipped/gan.md).
    - pixel 100: the pixel term is MSE on [0, 1] images, whose gradient w.r.t. the output is hundreds of
      times smaller than LPIPS's; 100 lets LPIPS lead while MSE anchors colours and flat areas (the role
      of ESRGAN's L1 term). The measured gradient ratio is in the model card.
    """

    pixel: float = 100.0
    lpips: float = 2.0
    adversarial: float = 5e-3


def mse_per_image(clean, restored):
    """(B,) mean squared error of (B, H, W, C) float32 images."""
    return ops.mean(ops.square(restored - clean), axis=(1, 2, 3))


# The pixel term per example: "mse", or "psnr" (`baselines.train.psnr_loss`, −PSNR in dB, whose gradient is
# the MSE's divided by the patch's own MSE, so near-lossless patches are held as firmly as q10 ones).
PIXEL_LOSSES = {"mse": mse_per_image, "psnr": psnr_loss}
# The "psnr" pixel weight that pulls as MSE's 100 does on a q10 patch: the psnr term's gradient is
# 10/ln10 / MSE times MSE's, and a q10 4:2:0 patch has MSE ≈ 1.45e-3 (28.4 dB, the JPEG row of the
# shipped L2 card), so 100 · 1.45e-3 · ln10 / 10 ≈ 0.033. At q95 (MSE ≈ 3e-5) it then pulls 50× harder.
PSNR_PIXEL_WEIGHT = 0.033


class JpegGAN(keras.Model):
    """Generator + PatchGAN discriminator + frozen LPIPS + EMA generator.

    Args:
        generator: functional model (B, H, W, 3) float32 in [0, 1] -> restored, same shape.
        discriminator: functional model (B, H, W, 3) in [0, 1] -> (B, h, w, 1) logits.
        lpips: an `LPIPS` built with `value_range=(0, 1)`; it has no trainable variable.
        loss_weights: `LossWeights`.
        adversarial: "bce", "ragan" (default, ESRGAN) or "hinge", see `losses.adversarial`.
        pixel_loss: a `PIXEL_LOSSES` key, "mse" (default) or "psnr".
        consistency: every loss, the discriminator and validation see G's output after
            `baselines.luma_consistency.LumaConsistency`, as restore writes it for a JPEG: synthesised
            texture then counts only where the file allows it. Needs a conditioned generator.
        warmup_steps: the adversarial weight is 0 for the first `warmup_steps` generator updates (D still
            trains), so D learns to tell the L2 output from real before G follows it.
        ema_decay: EMA of G's weights after each step; 0.999 as Real-ESRGAN (`ema_decay` in its
            train_realesrgan_x4plus.yml, BasicSR's `model_ema`).

    `call(degraded)` returns the EMA generator's output, (B, H, W, 3) float32. Data for `fit` and
    `evaluate` are batches `(degraded, clean)`, each (B, H, W, 3) float32 in [0, 1], H, W >= 32 (LPIPS).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        lpips: keras.Model,
        loss_weights: LossWeights = LossWeights(),  # noqa: B008 - frozen dataclass, immutable
        adversarial: str = "ragan",
        pixel_loss: str = "mse",
        consistency: bool = False,
        warmup_steps: int = 0,
        ema_decay: float = 0.999,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if adversarial not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial must be one of {sorted(ADVERSARIAL_LOSSES)}, got {adversarial!r}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel_loss must be one of {sorted(PIXEL_LOSSES)}, got {pixel_loss!r}")
        self.pixel_loss = PIXEL_LOSSES[pixel_loss]
        if consistency and not is_conditioned(generator):
            raise ValueError("consistency needs a conditioned generator: the projection reads the tables")
        self.projection = LumaConsistency(name="luma_consistency") if consistency else None
        self.generator, self.discriminator, self.lpips = generator, discriminator, lpips
        self.loss_weights, self.adversarial = loss_weights, adversarial
        self.adversarial_loss = ADVERSARIAL_LOSSES[adversarial]
        self.warmup_steps, self.ema_decay = int(warmup_steps), float(ema_decay)
        # Built non-trainable (not toggled later): its weights only ever change through `update_ema`.
        self.ema_generator = keras.models.clone_model(
            generator,
            clone_function=lambda layer: layer.__class__.from_config(
                {**layer.get_config(), "trainable": False}
            ),
        )
        self.ema_generator.set_weights(generator.get_weights())
        self.trackers = {key: keras.metrics.Mean(name=key) for key in TRAIN_KEYS + VAL_KEYS}
        self.built = True

    def compile(
        self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs
    ):
        """One optimizer per network and no Keras loss. XLA off unless asked: this step is not tested under
        `jit_compile` (Keras's "auto" is off on CPU anyway)."""
        super().compile(optimizer=None, **{"jit_compile": False, **kwargs})
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def build_optimizers(self) -> None:
        """Create the optimizer slots now, e.g. before restoring a checkpoint into them."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def restored_by(self, generator: keras.Model, degraded, training: bool):
        """`generator`'s float32 output, projected into the JPEG's luma intervals if `consistency`."""
        restored = ops.cast(generator(degraded, training=training), "float32")
        if self.projection is None:
            return restored
        images, tables = degraded
        return self.projection(restored, images, tables)

    def call(self, degraded, training=False):
        del training  # the EMA generator is only ever used for inference
        return self.restored_by(self.ema_generator, degraded, training=False)

    def weights_at(self, step) -> LossWeights:
        """The loss weights at generator update `step` (G's optimizer iterations, which steps skipped by a
        LossScaleOptimizer do not count): no adversarial term during the warm-up."""
        warm = ops.where(step < self.warmup_steps, 0.0, self.loss_weights.adversarial)
        return dataclasses.replace(self.loss_weights, adversarial=warm)

    def train_step(self, data):
        degraded, clean, _ = keras.utils.unpack_x_y_sample_weight(data)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            restored = self.restored_by(self.generator, degraded, training=True)
            logits = self.discriminator(ops.concatenate([clean, restored], axis=0), training=True)
            real_logits, fake_logits = ops.split(ops.cast(logits, "float32"), 2, axis=0)
            adv_per_example, d_per_example = self.adversarial_loss(real_logits, fake_logits)
            pixel = tf.nn.compute_average_loss(self.pixel_loss(clean, restored))
            perceptual = tf.nn.compute_average_loss(self.lpips(clean, restored, training=True))
            adversarial = tf.nn.compute_average_loss(adv_per_example)
            w = self.weights_at(self.g_optimizer.iterations)
            g_loss = w.pixel * pixel + w.lpips * perceptual + w.adversarial * adversarial
            d_loss = tf.nn.compute_average_loss(d_per_example)
            scaled_g, scaled_d = self.g_optimizer.scale_loss(g_loss), self.d_optimizer.scale_loss(d_loss)
        self.g_optimizer.apply(g_tape.gradient(scaled_g, g_vars), g_vars)
        self.d_optimizer.apply(d_tape.gradient(scaled_d, d_vars), d_vars)
        self.update_ema()
        # The reduced losses are sums / global batch; × replicas gives this replica's mean, which Keras
        # averages over replicas when it reads the trackers.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        logged = {
            "g_loss": g_loss,
            "g_pixel": pixel,
            "g_lpips": perceptual,
            "g_adv": adversarial,
            "d_loss": d_loss,
        }
        for key, value in logged.items():
            self.trackers[key].update_state(value * replicas)
        self.trackers["d_real"].update_state(ops.mean(real_logits))
        self.trackers["d_fake"].update_state(ops.mean(fake_logits))
        return {key: self.trackers[key].result() for key in TRAIN_KEYS}

    def update_ema(self) -> None:
        """ema ← decay · ema + (1 − decay) · G, for every weight of G (trainable or not)."""
        for ema, weight in zip(self.ema_generator.weights, self.generator.weights, strict=True):
            ema.assign(self.ema_decay * ema + (1.0 - self.ema_decay) * ops.cast(weight, ema.dtype))

    def test_step(self, data):
        """PSNR (dB) and LPIPS of the EMA generator on (degraded, clean) validation pairs."""
        degraded, clean, _ = keras.utils.unpack_x_y_sample_weight(data)
        restored = self(degraded)
        self.trackers["psnr"].update_state(psnr_per_image(clean, restored))
        self.trackers["lpips"].update_state(self.lpips(clean, restored))
        return {key: self.trackers[key].result() for key in VAL_KEYS}


def checkpoint_manager(gan: JpegGAN, folder: str | Path) -> tf.train.CheckpointManager:
    """A tf.train.CheckpointManager (max_to_keep=1) of G, D, the EMA and both optimizers in `folder`;
    the optimizers' iteration counts carry the step."""
    checkpoint = tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        ema_generator=gan.ema_generator,
        g_optimizer=gan.g_optimizer,
        d_optimizer=gan.d_optimizer,
    )
    return tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1)


def export_generator(gan: JpegGAN, model: str, model_kwargs: dict, path: str | Path) -> None:
    """Save the EMA weights in a plain float32 generator built by `build_model(model, **model_kwargs)`."""
    with dtype_policy("float32"):
        generator = build_model(model, **model_kwargs)
    generator.set_weights(gan.ema_generator.get_weights())
    generator.save(path)


def validate(gan: JpegGAN, val_pairs: dict):
    """PSNR and LPIPS of the EMA generator per validation quality ({"val_psnr_q10": ..., "val_lpips_q10":
    ...}), and the sample grid's (degraded, restored, clean) at the lowest quality. `val_pairs` is
    {quality: (degraded, clean)}, each (N, S, S, 3) in [0, 1]."""
    # Every replica must get an equal, non-empty share of each batch: the validation set is repeated once
    # per replica (means unchanged) and batched by a multiple of the replica count.
    copies = gan.distribute_strategy.num_replicas_in_sync
    scores = {}
    for quality, (inputs, clean) in val_pairs.items():
        inputs, clean = repeat_rows(inputs, copies), np.concatenate([clean] * copies)
        result = gan.evaluate(inputs, clean, batch_size=4 * copies, verbose=0, return_dict=True)
        scores[f"val_psnr_q{quality}"], scores[f"val_lpips_q{quality}"] = result["psnr"], result["lpips"]
    inputs, clean = val_pairs[min(val_pairs)]
    inputs, clean = training_loop.first_rows(inputs, 4), clean[:4]
    restored = gan.predict(repeat_rows(inputs, copies), batch_size=4 * copies, verbose=0)
    return scores, (training_loop.images_of(inputs), restored[: len(clean)], clean)


def repeat_rows(inputs, copies: int):
    """A model's inputs (an array, or a tuple (degraded, tables)) with every array repeated `copies` times."""
    if isinstance(inputs, tuple):
        return tuple(np.concatenate([x] * copies) for x in inputs)
    return np.concatenate([inputs] * copies)
