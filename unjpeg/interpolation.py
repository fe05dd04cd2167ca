"""Network interpolation between an L2 generator and its GAN (`--strength`; ESRGAN, Wang et al. 2018).

The convolutions are blended weight by weight, (1 − s)·L2 + s·GAN. The FiLM conditioning of a conditioned
generator (`baselines.conditioning`) cannot be: its MLP's hidden units are a basis that each training run
draws anew (the L2 and the GAN were fine-tuned apart, from different seeds), so averaging two MLPs mixes
unrelated units and gives scales and shifts that neither model uses. Instead the blended model carries both
MLPs side by side (twice the hidden units, the second layer block-diagonal) and each block's head reads both
codes with weights (1 − s) and s, so its FiLM scale and shift are exactly (1 − s)·L2's + s·GAN's.
"""

from __future__ import annotations

import numpy as np

# The conditioning MLP's hidden layers (baselines.conditioning.film_parameters) and the per-block heads.
FILM_HIDDEN = ("film_dense1", "film_dense2")
FILM_HEAD_SUFFIXES = ("_film_scale", "_film_shift")


def interpolate(l2_model, gan_model, strength: float):
    """A generator computing (1 − s)·L2 + s·GAN as above, s = `strength` in [0, 1]; a new model for a
    conditioned pair, else `gan_model` with blended weights. Raises ValueError with a one-line message."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"--strength must be in [0, 1], got {strength}")
    shapes = [[w.shape for w in model.get_weights()] for model in (l2_model, gan_model)]
    if shapes[0] != shapes[1]:
        raise ValueError("--strength needs two generators of the same architecture; these differ")
    blended = _with_wide_film(gan_model) if _is_film(gan_model) else gan_model
    # Layers pair by position, as the weight lists above do: names need not match between two files.
    for layer, l2_layer, gan_layer in zip(blended.layers, l2_model.layers, gan_model.layers, strict=True):
        layer.set_weights(_blend(gan_layer.name, l2_layer.get_weights(), gan_layer.get_weights(), strength))
    return blended


def _is_film(model) -> bool:
    return any(layer.name == FILM_HIDDEN[0] for layer in model.layers)


def _with_wide_film(model):
    """A copy of `model` whose FiLM hidden layers have twice the units (weights set by the caller)."""
    import keras

    def clone(layer):
        config = layer.get_config()
        if layer.name in FILM_HIDDEN:
            config["units"] *= 2
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def _blend(name: str, l2: list[np.ndarray], gan: list[np.ndarray], s: float) -> list[np.ndarray]:
    """The weights of layer `name` in the blended model, from its L2 and GAN weights."""
    if name == FILM_HIDDEN[0]:  # side by side: [L2 units | GAN units]
        return [np.concatenate([a, b], axis=-1) for a, b in zip(l2, gan, strict=True)]
    if name == FILM_HIDDEN[1]:  # block-diagonal kernel, so each half reads only its own model's units
        (k_l2, b_l2), (k_gan, b_gan) = l2, gan
        kernel = np.zeros((k_l2.shape[0] + k_gan.shape[0], k_l2.shape[1] + k_gan.shape[1]), k_l2.dtype)
        kernel[: k_l2.shape[0], : k_l2.shape[1]] = k_l2
        kernel[k_l2.shape[0] :, k_l2.shape[1] :] = k_gan
        return [kernel, np.concatenate([b_l2, b_gan])]
    if name.endswith(FILM_HEAD_SUFFIXES):  # (1 − s)·head_L2(code_L2) + s·head_GAN(code_GAN)
        (k_l2, b_l2), (k_gan, b_gan) = l2, gan
        return [np.concatenate([(1 - s) * k_l2, s * k_gan], axis=0), (1 - s) * b_l2 + s * b_gan]
    return [(1 - s) * a + s * b for a, b in zip(l2, gan, strict=True)]
