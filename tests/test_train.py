"""baselines.train: growing a generator with --init, and L2 compiled to compute in bfloat16 with float32 losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from unjpeg.baselines.s2dnet import build_s2dnet
from unjpeg.baselines.train import PSNR_LOSS_FLOOR, TrainConfig, compiled_model, init_weights, psnr, psnr_loss

from tests.helpers import random_images, randomised


def test_init_grows_s2dnet_into_the_same_function():
    small = randomised(build_s2dnet(width=8, num_blocks=1))
    grown = build_s2dnet(width=8, num_blocks=3)
    init_weights(grown, small)
    images = random_images(24, 40)
    np.testing.assert_allclose(grown(images), small(images), atol=1e-6)
    assert not np.any(grown.get_layer("block2_conv2").get_weights()[0])
    assert np.any(grown.get_layer("block2_conv1").get_weights()[0])  # trainable from the first step
    with pytest.raises(ValueError, match="conv_in"):
        init_weights(build_s2dnet(width=4, num_blocks=1), small)  # narrower: nothing to copy into


@pytest.mark.parametrize("conditioned", [False, True])
def test_init_widens_s2dnet_into_the_same_function_with_every_new_weight_trainable(conditioned):
    small = randomised(build_s2dnet(width=8, num_blocks=2, conditioned=conditioned))
    wide = build_s2dnet(width=12, num_blocks=3, conditioned=conditioned)
    init_weights(wide, small)
    images = random_images(24, 40)
    inputs = [images, np.random.default_rng(1).random((2, 128), np.float32)] if conditioned else images
    np.testing.assert_allclose(wide(inputs), small(inputs), atol=1e-5)
    kernel = wide.get_layer("block0_conv1").get_weights()[0]  # (3, 3, in, out)
    np.testing.assert_array_equal(kernel[:, :, :8, :8], small.get_layer("block0_conv1").get_weights()[0])
    assert not np.any(kernel[:, :, 8:, :8])  # old channels never read the new ones
    assert np.any(kernel[:, :, :, 8:]) and np.any(wide.get_layer("conv_in").get_weights()[0][..., 8:])
    assert not np.any(wide.get_layer("conv_out").get_weights()[0][:, :, 8:, :])
    # one step of training moves the output: the new channels are not stuck at zero
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.ops.square(wide(inputs) - 0.5))
    kernel_out = wide.get_layer("conv_out").trainable_weights[0]
    assert np.any(tape.gradient(loss, kernel_out).numpy()[:, :, 8:, :])


@pytest.mark.parametrize("model", ["s2dnet", "blockcnn"])
def test_bfloat16_training_keeps_float32_weights_output_and_loss(model):
    config = TrainConfig(model=model, data="", out="", precision="bfloat16", model_kwargs={"width": 8})
    compiled = compiled_model(config)
    assert any(layer.compute_dtype == "bfloat16" for layer in compiled.layers)
    assert all(weight.dtype == "float32" for weight in compiled.weights)
    images = random_images(32, 40, batch=2)
    logs = compiled.train_on_batch(images, np.clip(images + 0.05, 0, 1), return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] > 0
    loss = compiled.compute_loss(x=images, y=images, y_pred=compiled(images))
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_psnr_by_hand():
    clean = np.zeros((2, 4, 4, 1), np.float32)
    restored = clean + np.array([0.1, 0.01], np.float32)[:, None, None, None]
    np.testing.assert_allclose(float(psnr(clean, restored)), (20 + 40) / 2, rtol=1e-5)  # -10 log10(mse)


def test_psnr_loss_is_minus_psnr_per_patch_and_weighs_patches_by_their_own_error():
    clean = np.zeros((2, 4, 4, 1), np.float32)
    restored = clean + np.array([0.1, 0.01], np.float32)[:, None, None, None]
    expected = 10 * np.log10(np.array([0.01, 1e-4]) + PSNR_LOSS_FLOOR)
    np.testing.assert_allclose(np.asarray(psnr_loss(clean, restored)), expected, rtol=1e-5)
    # d loss / d restored is 20/ln10 · error / (MSE + floor): per pixel, the patch 10× closer gets 10×
    # the gradient, where MSE would give it 1/10.
    import tensorflow as tf

    variable = tf.Variable(restored)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(psnr_loss(clean, variable))
    gradient = tape.gradient(loss, variable).numpy()
    ratio = (0.01 / (1e-4 + PSNR_LOSS_FLOOR)) / (0.1 / (0.01 + PSNR_LOSS_FLOOR))
    np.testing.assert_allclose(gradient[1, 0, 0, 0] / gradient[0, 0, 0, 0], ratio, rtol=1e-4)
    assert ratio > 9.8
    assert np.isfinite(np.asarray(psnr_loss(clean, clean))).all()  # a perfect patch: the floor, not -inf


def test_the_psnr_loss_trains_in_bfloat16_and_survives_a_save(tmp_path):
    config = TrainConfig(model="s2dnet", data="", out="", precision="bfloat16", loss="psnr",
                         model_kwargs={"width": 8})  # fmt: skip
    compiled = compiled_model(config)
    images = random_images(32, 40, batch=2)
    target = np.clip(images + 0.05, 0, 1)
    logs = compiled.train_on_batch(images, target, return_dict=True)
    assert -40 < logs["loss"] < 0  # dB: −PSNR of a poor first guess
    compiled.save(tmp_path / "checkpoint.keras")
    loaded = keras.models.load_model(tmp_path / "checkpoint.keras")
    np.testing.assert_allclose(
        loaded.compute_loss(x=images, y=target, y_pred=loaded(images)),
        compiled.compute_loss(x=images, y=target, y_pred=compiled(images)),
        rtol=1e-4,
    )
