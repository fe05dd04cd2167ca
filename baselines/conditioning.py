"""Conditioning a generator on the JPEG file's quantization tables with FiLM (Perez et al., AAAI 2018).

A small MLP maps the normalised tables ((B, 128) float32 in [0, 1], `data.jpeg.normalise_tables`:
luma steps then chroma steps, zeros where a table is absent, all zeros in blind mode) to one scale and
one shift per residual block, (B, 1, 1, width) each. A block's branch is then modulated as
`h · (1 + scale) + shift`. QGAC (Ehrlich et al., ECCV 2020) also feeds the quantization matrix to the
network; FBCNN (Jiang et al., ICCV 2021) only a predicted quality factor.

The per-block heads start at zero, so a conditioned generator starts as exactly the unconditioned one:
copy an unconditioned run's weights in by layer name (`unjpeg train --init`, `baselines.train.
init_weights`), and the layers that only the conditioned net has (`film_*`, `block*_film_*`) keep their
initialisation, which makes every scale and shift 0. Growing a conditioned net by blocks works the same
way. Only standard Keras layers and element-wise ops, so the exports carry the second input.
"""

from __future__ import annotations

import keras
from keras import layers, ops

TABLES = 128  # 2 tables × 64 steps, as `data.jpeg.normalise_tables` returns
HIDDEN = 64
NEGATIVE_SLOPE = 0.2
# The MLP is tiny next to the convolutions: it stays float32 under a mixed policy, like every layer of
# s2dnet outside the block convolutions.
FLOAT32 = "float32"


@keras.saving.register_keras_serializable(package="unjpeg")
class FiLM(keras.layers.Layer):
    """`features · (1 + scale) + shift`: features (B, H, W, C), scale and shift (B, 1, 1, C)."""

    def call(self, features, scale, shift):
        scale, shift = ops.cast(scale, features.dtype), ops.cast(shift, features.dtype)
        return features * (1.0 + scale) + shift

    def compute_output_shape(self, features_shape, scale_shape, shift_shape):
        return features_shape


def tables_input() -> keras.KerasTensor:
    """The second model input, named "tables": (B, 128) float32 in [0, 1]."""
    return keras.Input((TABLES,), name="tables")


def film_parameters(tables, width: int, num_blocks: int, hidden: int = HIDDEN) -> list[tuple]:
    """From tables (B, 128) to `num_blocks` pairs (scale, shift), each (B, 1, 1, width).

    Two hidden Dense layers of `hidden` units with LeakyReLU, shared by all blocks, then one zero-
    initialised Dense head per block and per parameter (`block{i}_film_scale`, `block{i}_film_shift`),
    so a block added later gets its own heads, also at zero.
    """
    code = layers.Dense(hidden, name="film_dense1", dtype=FLOAT32)(tables)
    code = layers.LeakyReLU(NEGATIVE_SLOPE, name="film_act1", dtype=FLOAT32)(code)
    code = layers.Dense(hidden, name="film_dense2", dtype=FLOAT32)(code)
    code = layers.LeakyReLU(NEGATIVE_SLOPE, name="film_act2", dtype=FLOAT32)(code)
    parameters = []
    for i in range(num_blocks):
        pair = []
        for part in ("scale", "shift"):
            head = layers.Dense(
                width, kernel_initializer="zeros", name=f"block{i}_film_{part}", dtype=FLOAT32
            )(code)
            pair.append(layers.Reshape((1, 1, width), name=f"block{i}_film_{part}_map", dtype=FLOAT32)(head))
        parameters.append(tuple(pair))
    return parameters


def is_conditioned(model: keras.Model) -> bool:
    """Whether `model` takes the tables as an input (named "tables")."""
    return any(tensor.name == "tables" for tensor in model.inputs)
