"""`s2dnet`: a fast generator that works on folded pixel blocks, designed for 2 CPU cores.

The image is padded to the 8-px JPEG grid and folded by space-to-depth(`fold`), so each `fold`×`fold`
block becomes one vector at 1/`fold` resolution. Residual blocks of 3×3 convolutions mix neighbouring
blocks, and depth-to-space unfolds a correction that is added to the input (global residual learning,
as in DnCNN, Zhang et al. 2017). Working at 1/`fold` resolution costs `fold`² fewer FLOPs per pixel than
the same net at full resolution.

Choices measured on this project's training data (300 steps, patch 96, batch 16, QF 10-40; see README):
- no batch norm, as in ESRGAN (Wang et al. 2018), so the GAN fine-tune and network interpolation behave;
- input centred to [-0.5, 0.5], LeakyReLU(0.2) and residual branches scaled by 0.2 (EDSR, Lim et al.
  2017, uses 0.1): with plain ReLU and unscaled branches, Adam at 5e-4 collapsed to the identity;
- the output convolution starts at zero, so training starts from the JPEG itself.

Under a mixed policy (`mixed_bfloat16`, `mixed_float16`) only the block convolutions and their
activations compute at low precision; every other layer is float32 (`FLOAT32`): the input, the residual
stream, the output convolution and the global residual add, so the JPEG reaches the output unrounded.
These are the layers that `precision.keeps_float32` keeps in a loaded model.
"""

from __future__ import annotations

import keras
from keras import layers
from unjpeg.baselines.conditioning import FiLM, film_parameters, tables_input
from unjpeg.baselines.layers import CropLike, DepthToSpace, PadToMultiple, SpaceToDepth
from unjpeg.data.jpeg import GRID  # the input is padded to this grid whatever the fold

RESIDUAL_SCALE = 0.2
NEGATIVE_SLOPE = 0.2
FLOAT32 = "float32"  # dtype of the layers the output is built from, whatever the global policy


def build_s2dnet(
    width: int = 128, num_blocks: int = 4, fold: int = 4, channels: int = 3, conditioned: bool = False
) -> keras.Model:
    """Build the space-to-depth generator.

    Input and output: (B, H, W, channels) float32, input in [0, 1], output nominally [0, 1] (unclipped),
    for any H, W of at least 8 px. Layers: one 3×3 conv in, `num_blocks` residual blocks of two 3×3
    convs, one 3×3 conv out, all at 1/`fold` resolution; `fold` divides 8.
    Default (width 128, 4 blocks, fold 4): 1.29 M parameters, 161 kFLOPs per pixel. The shipped models
    have 14 blocks (grown 4 → 6 → 8 → 10 → 12 → 14 with `unjpeg train --init`): 4.24 M parameters,
    531 kFLOPs per pixel.
    `conditioned=True` adds the input "tables" (B, 128) and FiLM on each block's first conv
    (`baselines.conditioning`); with its zero-initialised heads it computes what the plain net does.
    """
    if GRID % fold:
        raise ValueError(f"fold must divide the 8-px JPEG grid (1, 2, 4 or 8), got {fold}")
    degraded = keras.Input((None, None, channels), name="degraded")
    tables = tables_input() if conditioned else None
    films = film_parameters(tables, width, num_blocks) if conditioned else []
    padded = PadToMultiple(GRID, name="pad_to_grid", dtype=FLOAT32)(degraded)
    centred = layers.Rescaling(1.0, offset=-0.5, name="centre", dtype=FLOAT32)(padded)
    features = layers.Conv2D(width, 3, padding="same", name="conv_in", dtype=FLOAT32)(
        SpaceToDepth(fold, name="fold", dtype=FLOAT32)(centred)
    )
    for i in range(num_blocks):
        residual = layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv1")(features)
        if conditioned:
            residual = FiLM(name=f"block{i}_film", dtype=FLOAT32)(residual, *films[i])
        residual = layers.LeakyReLU(NEGATIVE_SLOPE, name=f"block{i}_act")(residual)
        residual = layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv2")(residual)
        residual = layers.Rescaling(RESIDUAL_SCALE, name=f"block{i}_scale", dtype=FLOAT32)(residual)
        features = layers.Add(name=f"block{i}_add", dtype=FLOAT32)([features, residual])
    features = layers.LeakyReLU(NEGATIVE_SLOPE, name="act_out", dtype=FLOAT32)(features)
    correction = layers.Conv2D(
        channels * fold * fold, 3, padding="same", kernel_initializer="zeros", name="conv_out", dtype=FLOAT32
    )(features)
    correction = DepthToSpace(fold, name="unfold", dtype=FLOAT32)(correction)
    restored = layers.Add(name="residual", dtype=FLOAT32)([padded, correction])
    restored = CropLike(name="crop", dtype=FLOAT32)(restored, degraded)
    return keras.Model([degraded, tables] if conditioned else degraded, restored, name="s2dnet")
