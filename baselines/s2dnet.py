"""`s2dnet`: a fast generator that works on whole 8×8 JPEG blocks, designed for 2 CPU cores.

The image is padded to the 8-px grid and folded by space-to-depth(8), so every JPEG block becomes one
192-value vector (8·8·3) at 1/8 resolution. Residual blocks of 3×3 convolutions then mix neighbouring
blocks, and depth-to-space unfolds a correction that is added to the input (global residual learning,
as in DnCNN, Zhang et al. 2017). Working at 1/8 resolution costs 64× fewer FLOPs per pixel than the same
net at full resolution, and the fold is aligned with the JPEG grid, so block boundaries are explicit.
No batch norm, as in ESRGAN (Wang et al. 2018), so the GAN fine-tune and network interpolation behave.

Default (width 192, 4 residual blocks, 10 convolutions): 3.33 M parameters, 104 kFLOPs per pixel.
"""

from __future__ import annotations

import keras
from keras import layers

from baselines.layers import CropLike, DepthToSpace, PadToMultiple, SpaceToDepth

BLOCK = 8  # JPEG block size


def build_s2dnet(width: int = 192, num_blocks: int = 4, channels: int = 3) -> keras.Model:
    """Build the space-to-depth generator.

    Input and output: (B, H, W, channels) float32, input in [0, 1], output nominally [0, 1] (unclipped),
    for any H, W of at least 8 px. Layers: one 3×3 conv in, `num_blocks` residual blocks of two 3×3
    convs (ReLU between), one 3×3 conv out, all at 1/8 resolution.
    """
    degraded = keras.Input((None, None, channels), name="degraded")
    padded = PadToMultiple(BLOCK, name="pad_to_grid")(degraded)
    features = layers.Conv2D(width, 3, padding="same", activation="relu", name="conv_in")(
        SpaceToDepth(BLOCK, name="fold")(padded)
    )
    for i in range(num_blocks):
        residual = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{i}_conv1")(
            features
        )
        residual = layers.Conv2D(width, 3, padding="same", name=f"block{i}_conv2")(residual)
        features = layers.Add(name=f"block{i}_add")([features, residual])
    # Zero-initialised, so training starts from the identity: the JPEG input itself.
    correction = layers.Conv2D(
        channels * BLOCK * BLOCK, 3, padding="same", kernel_initializer="zeros", name="conv_out"
    )(layers.ReLU(name="relu_out")(features))
    restored = layers.Add(name="residual")([padded, DepthToSpace(BLOCK, name="unfold")(correction)])
    restored = CropLike(name="crop")(restored, degraded)
    return keras.Model(degraded, restored, name="s2dnet")
