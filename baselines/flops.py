"""Parameter count and FLOPs per pixel of a generator, from TensorFlow's graph profiler."""

from __future__ import annotations

import keras
import tensorflow as tf


def flops_per_pixel(model: keras.Model, height: int = 64, width: int = 64) -> float:
    """Floating-point operations per output pixel for one (1, height, width, C) forward pass.

    A multiply-add counts as 2 FLOPs (the profiler's convention). Fixed-size models use their own size.
    A conditioned generator's second input (the (1, 128) tables) is traced too; its FiLM MLP runs once
    per image, so at 64×64 it adds a little to the per-pixel figure that a large photo would not see.
    """
    fixed = model.inputs[0].shape[1:3]
    if fixed[0] is not None:
        height, width = fixed
    channels = model.inputs[0].shape[-1]
    specs = [tf.TensorSpec((1, height, width, channels), tf.float32)]
    specs += [tf.TensorSpec((1, *extra.shape[1:]), tf.float32) for extra in model.inputs[1:]]
    forward = tf.function(
        lambda *inputs: model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    )
    concrete = forward.get_concrete_function(*specs)
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = convert_variables_to_constants_v2(concrete).graph
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    total = model_analyzer.profile(graph, options=options).total_float_ops
    return total / float(height * width)


def describe(model: keras.Model) -> dict:
    """{'parameters': int, 'flops_per_pixel': float} for a model."""
    return {"parameters": int(model.count_params()), "flops_per_pixel": flops_per_pixel(model)}
