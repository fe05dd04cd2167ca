"""--strength: convolutions blend weight by weight; a conditioned pair's FiLM blends in output space."""

import keras
import numpy as np
import pytest
from unjpeg.baselines.models import build_model

from tests.helpers import randomised
from unjpeg.interpolation import interpolate

IMAGES = np.random.default_rng(0).random((2, 24, 40, 3), dtype=np.float32)
TABLES = np.random.default_rng(1).random((2, 128), dtype=np.float32)


def conditioned_pair():
    """Two tiny conditioned s2dnets with unrelated FiLM MLPs and non-zero heads, as two training runs give."""
    keras.utils.set_random_seed(3)
    l2 = randomised(build_model("s2dnet", width=8, num_blocks=2, conditioned=True), seed=1)
    keras.utils.set_random_seed(4)
    gan = randomised(build_model("s2dnet", width=8, num_blocks=2, conditioned=True), seed=2)
    return l2, gan


def film_outputs(model, name="block1_film_scale"):
    probe = keras.Model(model.inputs, model.get_layer(name).output)
    return np.asarray(probe([IMAGES, TABLES]))


def test_film_scales_and_shifts_blend_exactly_in_output_space():
    l2, gan = conditioned_pair()
    ends = [film_outputs(m, name) for m in (l2, gan) for name in ("block1_film_scale", "block0_film_shift")]
    assert np.abs(ends[0] - ends[2]).max() > 1e-3  # the two MLPs really differ
    blended = interpolate(l2, gan, 0.25)
    assert blended.get_layer("film_dense1").units == 2 * l2.get_layer("film_dense1").units
    np.testing.assert_allclose(film_outputs(blended), 0.75 * ends[0] + 0.25 * ends[2], atol=1e-5)
    np.testing.assert_allclose(
        film_outputs(blended, "block0_film_shift"), 0.75 * ends[1] + 0.25 * ends[3], atol=1e-5
    )


@pytest.mark.parametrize("strength", [0.0, 1.0])
def test_conditioned_ends_are_the_two_models(strength):
    l2, gan = conditioned_pair()
    expected = np.asarray((gan if strength else l2)([IMAGES, TABLES]))
    out = np.asarray(interpolate(l2, gan, strength)([IMAGES, TABLES]))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_convolutions_blend_weight_by_weight():
    l2, gan = conditioned_pair()
    kernels = [m.get_layer("conv_out").get_weights()[0] for m in (l2, gan)]
    blended = interpolate(l2, gan, 0.5)
    np.testing.assert_allclose(blended.get_layer("conv_out").get_weights()[0], 0.5 * sum(kernels), atol=1e-7)


def test_errors_are_one_line_value_errors():
    l2, gan = conditioned_pair()
    with pytest.raises(ValueError, match=r"must be in \[0, 1\], got 1.5"):
        interpolate(l2, gan, 1.5)
    blind = build_model("s2dnet", width=8, num_blocks=2)
    with pytest.raises(ValueError, match="same architecture"):
        interpolate(blind, gan, 0.5)
