"""Adversarial losses against numbers worked out by hand.

softplus(x) = log(1 + e^x), so softplus(0) = log 2, softplus(log 3) = log 4, softplus(-log 3) = log(4/3),
and softplus(x) - softplus(-x) = x.
"""

import math

import numpy as np
import pytest
import tensorflow as tf
from unjpeg.losses.adversarial import ADVERSARIAL_LOSSES, bce, hinge, ragan

LOG3 = math.log(3.0)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def as_numpy(losses):
    return tuple(np.asarray(loss) for loss in losses)


def test_bce_by_hand():
    real = np.array([[0.0], [LOG3]], np.float32)
    fake = np.array([[-LOG3], [0.0]], np.float32)
    g, d = as_numpy(bce(real, fake))
    # g = -log σ(fake) = softplus(-fake); d = softplus(-real) + softplus(fake)
    np.testing.assert_allclose(g, [math.log(4.0), math.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(
        d, [math.log(2.0) + math.log(4 / 3), math.log(4 / 3) + math.log(2.0)], rtol=1e-6
    )


def test_losses_average_over_patches_per_example():
    # One example, a 1×2 patch map: the per-example loss is the mean over its two patches.
    real = np.array([[[[2.0], [0.5]]]], np.float32)
    fake = np.array([[[[-3.0], [0.25]]]], np.float32)
    g, d = as_numpy(hinge(real, fake))
    # d = mean(relu(1 - 2), relu(1 - 0.5)) + mean(relu(1 - 3), relu(1 + 0.25)) = 0.25 + 0.625
    np.testing.assert_allclose(d, [0.875], rtol=1e-6)
    np.testing.assert_allclose(g, [1.375], rtol=1e-6)  # -mean(-3, 0.25)
    g, d = as_numpy(bce(real, fake))
    np.testing.assert_allclose(g, [(softplus(3.0) + softplus(-0.25)) / 2], rtol=1e-6)
    assert g.shape == d.shape == (1,)


def test_hinge_saturates_beyond_the_margin():
    real = np.array([[1.5], [0.0]], np.float32)
    fake = np.array([[-2.0], [0.0]], np.float32)
    g, d = as_numpy(hinge(real, fake))
    np.testing.assert_allclose(d, [0.0, 2.0], atol=1e-7)  # beyond the margin D has nothing to learn
    np.testing.assert_allclose(g, [2.0, 0.0], atol=1e-7)


def test_ragan_by_hand():
    # real logits 1, 3 (mean 2); fake logits -1, 1 (mean 0).
    real = np.array([[1.0], [3.0]], np.float32)
    fake = np.array([[-1.0], [1.0]], np.float32)
    g, d = as_numpy(ragan(real, fake))
    # g_i = ½ [softplus(r_i - 0) + softplus(-(f_i - 2))]: ½ [softplus(1) + softplus(3)] for both examples.
    expected_g = 0.5 * (softplus(1.0) + softplus(3.0))
    # d_i = ½ [softplus(-(r_i - 0)) + softplus(f_i - 2)]: ½ [softplus(-1) + softplus(-3)] for both.
    expected_d = 0.5 * (softplus(-1.0) + softplus(-3.0))
    np.testing.assert_allclose(g, [expected_g, expected_g], rtol=1e-6)
    np.testing.assert_allclose(d, [expected_d, expected_d], rtol=1e-6)
    np.testing.assert_allclose(g - d, [2.0, 2.0], rtol=1e-6)  # softplus(x) - softplus(-x) = x, halved sums
    assert abs(expected_g - 2.1809245) < 1e-6 and abs(expected_d - 0.1809245) < 1e-6


def test_ragan_discriminator_treats_the_other_means_as_constants():
    # BasicSR detaches the other side's mean in the D loss: dD/dr_j = -½ σ(-(r_j - mean f)) / B.
    real = tf.constant([[1.0], [3.0]])
    fake = tf.constant([[-1.0], [1.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        g, d = ragan(real, fake)
        d_mean, g_mean = tf.reduce_mean(d), tf.reduce_mean(g)
    grad_real = tape.gradient(d_mean, real).numpy()[:, 0]
    sigmoid = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
    np.testing.assert_allclose(grad_real, [-0.5 * sigmoid(-1.0) / 2, -0.5 * sigmoid(-3.0) / 2], rtol=1e-5)
    # The generator loss keeps the gradient through mean(fake): each fake logit appears twice.
    grad_fake = tape.gradient(g_mean, fake).numpy()[:, 0]
    expected = [0.5 * (-sigmoid(-(f - 2.0)) - (sigmoid(1.0) + sigmoid(3.0)) / 2) / 2 for f in (-1.0, 1.0)]
    np.testing.assert_allclose(grad_fake, expected, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_LOSSES))
def test_large_logits_stay_finite(name):
    real = np.array([[80.0], [-80.0]], np.float32)
    fake = np.array([[-90.0], [90.0]], np.float32)
    for loss in ADVERSARIAL_LOSSES[name](real, fake):
        assert np.all(np.isfinite(np.asarray(loss)))
