"""Shape layers shared by the generators: grid padding, space-to-depth, and crop back.

They are registered Keras layers (package "unjpeg") so that `.keras` files reload, and they use only
TensorFlow ops that tf2onnx and TFLite convert (Pad, SpaceToDepth, DepthToSpace, StridedSlice).
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="unjpeg")
class PadToMultiple(keras.layers.Layer):
    """Pad (B, H, W, C) so H and W become multiples of `multiple`, plus `border` px on every side.

    The rounding pad goes to the bottom and right only, which keeps the top-left origin, so the 8×8 JPEG
    grid stays aligned. `mode` is "REFLECT" (edge pixel not repeated) or "SYMMETRIC" (edge repeated, as
    `numpy.pad(mode="symmetric")`); either needs every pad to be at most the image side.
    """

    def __init__(self, multiple: int = 8, border: int = 0, mode: str = "REFLECT", **kwargs):
        super().__init__(**kwargs)
        self.multiple, self.border, self.mode = multiple, border, mode

    def call(self, images):
        shape = tf.shape(images)
        # (m - H % m) % m rather than (-H) % m: tf2onnx turns FloorMod of a negative number into a
        # truncating division in ONNX Runtime (tf2onnx issue #2174).
        pad_h = (self.multiple - shape[1] % self.multiple) % self.multiple
        pad_w = (self.multiple - shape[2] % self.multiple) % self.multiple
        b = self.border
        padded = tf.pad(images, [[0, 0], [b, b + pad_h], [b, b + pad_w], [0, 0]], mode=self.mode)
        # Dynamic paddings lose the channel count in the converted graph, and TFLite has built-in
        # convolutions only for a known count (else it asks for Flex ops): a reshape restates it.
        return tf.reshape(padded, tf.concat([tf.shape(padded)[:3], [images.shape[-1]]], axis=0))

    def compute_output_shape(self, input_shape):
        def padded(side):
            return None if side is None else -(-side // self.multiple) * self.multiple + 2 * self.border

        return (input_shape[0], padded(input_shape[1]), padded(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple, "border": self.border, "mode": self.mode}


@keras.saving.register_keras_serializable(package="unjpeg")
class CropLike(keras.layers.Layer):
    """Crop `images` (B, H', W', C) to the height and width of `reference` (B, H, W, *), top-left anchored."""

    def call(self, images, reference):
        shape = tf.shape(reference)
        return images[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, images_shape, reference_shape):
        return (images_shape[0], reference_shape[1], reference_shape[2], images_shape[3])


@keras.saving.register_keras_serializable(package="unjpeg")
class SpaceToDepth(keras.layers.Layer):
    """(B, H, W, C) to (B, H/b, W/b, b·b·C): each b×b block becomes one vector (H, W multiples of b)."""

    def __init__(self, block: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, images):
        return tf.nn.space_to_depth(images, self.block)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[3] is None else input_shape[3] * self.block**2
        return (input_shape[0], None, None, channels)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@keras.saving.register_keras_serializable(package="unjpeg")
class DepthToSpace(keras.layers.Layer):
    """Inverse of `SpaceToDepth`: (B, h, w, b·b·C) to (B, h·b, w·b, C)."""

    def __init__(self, block: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, features):
        return tf.nn.depth_to_space(features, self.block)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[3] is None else input_shape[3] // self.block**2
        return (input_shape[0], None, None, channels)

    def get_config(self):
        return {**super().get_config(), "block": self.block}
