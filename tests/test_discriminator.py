"""PatchGAN discriminator: output map shapes, spectral normalization on by default, float32 logits."""

import keras
import numpy as np
import pytest
from unjpeg.gan.discriminator import build_patch_discriminator


@pytest.mark.parametrize(
    ("height", "width", "stages", "expected"),
    [(32, 32, 3, (4, 4)), (48, 80, 3, (6, 10)), (36, 52, 3, (5, 7)), (32, 64, 2, (8, 16))],
)
def test_output_map_shape(height, width, stages, expected):
    discriminator = build_patch_discriminator(width=4, num_stages=stages)
    logits = discriminator(np.random.default_rng(0).random((2, height, width, 3), dtype=np.float32))
    assert tuple(logits.shape) == (2, *expected, 1)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def conv_kinds(model: keras.Model) -> list[type]:
    return [
        type(layer)
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Wrapper))
    ]


def test_spectral_norm_is_on_by_default_and_off_by_flag():
    on = conv_kinds(build_patch_discriminator(width=4))
    assert len(on) == 5 and all(kind is keras.layers.SpectralNormalization for kind in on)
    off = conv_kinds(build_patch_discriminator(width=4, spectral_norm=False))
    assert len(off) == 5 and all(kind is keras.layers.Conv2D for kind in off)


def test_widths_double_per_stage_up_to_eight_times():
    model = build_patch_discriminator(width=4, num_stages=4, spectral_norm=False)
    filters = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert filters == [4, 8, 16, 32, 32, 1]


def test_spectral_norm_bounds_the_kernel_in_training():
    model = build_patch_discriminator(width=4)
    images = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    for _ in range(20):  # power iterations converge over calls
        model(images, training=True)
    wrapper = model.get_layer("stage1_conv_sn")
    kernel = np.asarray(wrapper.layer.kernel).reshape(-1, wrapper.layer.kernel.shape[-1])
    assert np.linalg.norm(kernel, 2) == pytest.approx(1.0, rel=0.05)


def test_rejects_bad_sizes():
    with pytest.raises(ValueError, match="num_stages"):
        build_patch_discriminator(num_stages=0)


def test_mixed_precision_keeps_float32_kernels_and_logits():
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_patch_discriminator(width=4)
        conv = model.get_layer("stage1_conv_sn").layer
        conv.kernel.assign(np.asarray(conv.kernel) + np.float32(1e-6))  # not representable in float16
        logits = model(np.random.default_rng(2).random((2, 32, 32, 3), dtype=np.float32), training=True)
    finally:
        keras.config.set_dtype_policy(saved)
    assert conv.compute_dtype == "float16"
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    kernel = np.asarray(conv.kernel)
    assert not np.array_equal(kernel, kernel.astype(np.float16).astype(np.float32))
