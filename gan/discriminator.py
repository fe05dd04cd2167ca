"""PatchGAN discriminator (pix2pix, Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", §3.2.2 and appendix 6.1.2), with spectral normalization (Miyato et al. 2018).

pix2pix's 70×70 PatchGAN is C64-C128-C256 at stride 2, C512 at stride 1, then a 1-channel conv, all 4×4
with LeakyReLU(0.2). Here the first width and the number of stride-2 stages are parameters, so the default
(width 32, 3 stages: 32-64-128 at stride 2, 256 at stride 1) is a quarter of pix2pix's width: 0.69 M
parameters and 25 kFLOPs per input pixel forward (counted with baselines.flops).
Each output logit scores one overlapping patch: with 3 stages the receptive field is 70 px, as in pix2pix.

Differences from pix2pix, on purpose:
- 'same' padding, so any input of at least 2**stages px works (32×32 included) and the map is
  ceil(H / 2**stages) × ceil(W / 2**stages);
- spectral normalization on every conv instead of batch norm: batch norm would mix the statistics of the
  real and fake halves that are scored in one call, and spectral normalization is what SN-GAN and
  Real-ESRGAN's discriminator use to keep D Lipschitz-bounded (`spectral_norm=False` for ablations);
- inputs in [0, 1] are rescaled to [-1, 1] inside the model;
- the logits are computed in float32 even under the `mixed_float16` policy.
"""

from __future__ import annotations

import keras
from keras import layers

KERNEL = 4  # pix2pix: every conv is 4×4
SLOPE = 0.2  # pix2pix / DCGAN LeakyReLU slope
MAX_MULTIPLIER = 8  # widths double per stage up to 8× the first (pix2pix: 64 … 512)


def _conv(filters: int, stride: int, spectral_norm: bool, name: str) -> layers.Layer:
    conv = layers.Conv2D(filters, KERNEL, stride, padding="same", name=name)
    if not spectral_norm:
        return conv
    # The wrapper writes kernel / sigma back into the kernel at every training call. In float32, so that
    # under mixed_float16 the master kernel is not rounded to float16 (which would swallow Adam's small
    # updates); the wrapped conv still computes in the policy's dtype.
    return layers.SpectralNormalization(conv, dtype="float32", name=f"{name}_sn")


def build_patch_discriminator(
    width: int = 32, num_stages: int = 3, spectral_norm: bool = True, channels: int = 3
) -> keras.Model:
    """Build the PatchGAN discriminator.

    Input: (B, H, W, channels) float32 in [0, 1], any H, W >= 2**num_stages.
    Output: (B, ceil(H / 2**num_stages), ceil(W / 2**num_stages), 1) float32 logits (real > 0 > fake),
    one per overlapping patch.
    Layers: `num_stages` 4×4 stride-2 convs of width·2^i filters (capped at 8·width), one 4×4 stride-1
    conv, one 4×4 conv to 1 channel; LeakyReLU(0.2) between; spectral normalization on all convs unless
    `spectral_norm=False`.
    """
    if num_stages < 1 or width < 1:
        raise ValueError(f"need width >= 1 and num_stages >= 1, got width={width}, num_stages={num_stages}")
    images = keras.Input((None, None, channels), name="images")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_pm1")(images)
    for i in range(num_stages):
        filters = width * min(2**i, MAX_MULTIPLIER)
        x = _conv(filters, 2, spectral_norm, name=f"stage{i}_conv")(x)
        x = layers.LeakyReLU(SLOPE, name=f"stage{i}_lrelu")(x)
    x = _conv(width * min(2**num_stages, MAX_MULTIPLIER), 1, spectral_norm, name="penultimate_conv")(x)
    x = layers.LeakyReLU(SLOPE, name="penultimate_lrelu")(x)
    x = _conv(1, 1, spectral_norm, name="patch_conv")(x)
    # A float32 linear layer so the logits (and the losses built on them) are float32 under mixed_float16.
    logits = layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(images, logits, name="patch_discriminator")
