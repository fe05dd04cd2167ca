"""JPEG consistency as a differentiable layer, so that training sees the output that `unjpeg restore` writes.

Restore projects every DCT coefficient of the output into the file's quantization interval
(`unjpeg.data.consistency`). Trained without it, a model is scored on an output that the user never gets:
it is free to move a coefficient by more than half a step, which the projection then undoes. Training
through the projection makes the loss that of the projected output, and its gradient only that of the
coefficients the file leaves undecided.

In training the file is not at hand, only the decoded patch and its tables. For luma the coefficients
are recovered from the decoded patch: `c = round(DCT(Y − 128) / q)`. The decoder's rounding of Y and then
of RGB moves a luma coefficient by about 0.3 (std), so `c` is exact for steps q ≥ 2, and at q = 1 (q95
and above use some) a few per cent of the coefficients come back one off (tests/test_luma_consistency.py);
near 0 and 255 the decoder's clipping can also move them. A coefficient clipped to a wrong interval adds
loss but, being clipped, no gradient. Chroma is left alone: under 4:2:0 and 4:2:2 the decoded chroma is
the decoder's upsampling of the coded plane, from which the coded plane cannot be taken back exactly.

The luma change goes back to RGB as the same amount on R, G and B (with Cb and Cr fixed, JFIF's inverse
colour matrix has ones in its luma column), so gray stays gray. Blind inputs (all-zero tables) pass
unchanged. Patches must lie on the file's 8×8 grid with sides a multiple of 8, as the training patches
do without `grid_offsets`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from unjpeg.baselines.conditioning import tables_input
from unjpeg.data.jpeg import GRID, TABLE_LOG_SCALE, TABLE_SIZE
from unjpeg.data.jpeg_dct import DCT_64, LEVEL_SHIFT, RGB_TO_YCBCR

LUMA_WEIGHTS = RGB_TO_YCBCR[0].astype(np.float32)  # Y = 0.299 R + 0.587 G + 0.114 B (JFIF)


def luma_levels(images):
    """(B, H, W, C) in [0, 1], C in {1, 3} -> (B, H, W) JFIF luma levels in [0, 255]."""
    if images.shape[-1] == 1:
        return images[..., 0] * 255.0
    return ops.tensordot(images, ops.convert_to_tensor(LUMA_WEIGHTS * 255.0), axes=1)


def to_blocks(plane):
    """(B, 8 bv, 8 bh) -> (B, bv, bh, 64), each block flattened row-major (as `data.jpeg_dct.to_blocks`)."""
    shape = ops.shape(plane)
    rows, cols = shape[1] // GRID, shape[2] // GRID
    blocks = ops.reshape(plane, (-1, rows, GRID, cols, GRID))
    return ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4)), (-1, rows, cols, GRID * GRID))


def from_blocks(blocks, like):
    """Inverse of `to_blocks`, to the (B, H, W) shape of `like`."""
    shape = ops.shape(like)
    rows, cols = shape[1] // GRID, shape[2] // GRID
    tiled = ops.reshape(blocks, (-1, rows, cols, GRID, GRID))
    return ops.reshape(ops.transpose(tiled, (0, 1, 3, 2, 4)), (-1, shape[1], shape[2]))


def luma_steps(tables):
    """(B, 128) normalised tables (`data.jpeg.normalise_tables`) -> (B, 64) luma steps, 0 when blind."""
    vector = tables[:, :TABLE_SIZE]
    return ops.where(vector > 0, ops.round(ops.power(2.0, vector * TABLE_LOG_SCALE) - 1.0), 0.0)


@keras.saving.register_keras_serializable(package="unjpeg")
class LumaConsistency(keras.layers.Layer):
    """Project the luma of `restored` into the intervals of `degraded`'s luma coefficients.

    restored, degraded: (B, H, W, C) float in [0, 1] (restored may leave it), C in {1, 3}, H and W
    multiples of 8 on the JPEG grid; tables: (B, 128). Returns (B, H, W, C) float32, not clipped.
    Always float32: the steps and a q = 1 interval need more than bfloat16's 8 bits.
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, restored, degraded, tables):
        restored, degraded = ops.cast(restored, "float32"), ops.cast(degraded, "float32")
        steps = luma_steps(ops.cast(tables, "float32"))[:, None, None, :]  # (B, 1, 1, 64)
        safe_steps = ops.maximum(steps, 1.0)
        dct = ops.convert_to_tensor(DCT_64.T)
        coded = ops.round(ops.matmul(to_blocks(luma_levels(degraded) - LEVEL_SHIFT), dct) / safe_steps)
        spectrum = ops.matmul(to_blocks(luma_levels(restored) - LEVEL_SHIFT), dct)
        clipped = ops.minimum(ops.maximum(spectrum, (coded - 0.5) * safe_steps), (coded + 0.5) * safe_steps)
        change = ops.where(steps > 0, clipped - spectrum, 0.0)
        # The orthonormal DCT's inverse is its transpose: DCT_64.T's transpose is DCT_64.
        luma_change = from_blocks(ops.matmul(change, ops.convert_to_tensor(DCT_64)), restored[..., 0])
        return restored + luma_change[..., None] / 255.0

    def compute_output_shape(self, restored_shape, degraded_shape, tables_shape):
        return restored_shape


def check_consistency(config) -> None:
    """Refuse, in one line, a consistency run (a `training_loop.RunConfig`) whose patches cannot tell the
    projection their intervals."""
    if not config.consistency:
        return
    if not config.model_kwargs.get("conditioned"):
        raise ValueError("--consistency-loss needs --conditioned: the projection reads the patch's tables")
    if config.grid_offsets:
        raise ValueError("--consistency-loss needs patches on the JPEG grid: drop --grid-offsets")


def consistent_training_model(generator: keras.Model) -> keras.Model:
    """`generator` (inputs [degraded, tables]) followed by `LumaConsistency`: the model that L2 training
    compiles when `RunConfig.consistency` is set. Its weights are exactly the generator's, in its order."""
    degraded = keras.Input(generator.inputs[0].shape[1:], name="degraded")
    tables = tables_input()
    restored = generator([degraded, tables])
    projected = LumaConsistency(name="luma_consistency")(restored, degraded, tables)
    return keras.Model([degraded, tables], projected, name=f"{generator.name}_consistent")


def bare_generator(model: keras.Model) -> keras.Model:
    """The generator inside a `consistent_training_model`, or `model` itself if it is none."""
    if "luma_consistency" not in [layer.name for layer in model.layers]:
        return model
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))
