import keras
from unjpeg.baselines.flops import describe, flops_per_pixel


def test_flops_of_a_single_convolution_match_hand_count():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs))
    # 3×3 kernel, 3 inputs, 4 outputs: 108 multiply-adds = 216 FLOPs per pixel.
    assert abs(flops_per_pixel(model, 16, 16) - 216) < 1e-6


def test_describe_reports_parameters_and_flops():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    info = describe(model)
    assert info["parameters"] == 8
    assert info["flops_per_pixel"] >= 12


def test_a_conditioned_s2dnet_is_counted_with_its_tables_input():
    from unjpeg.baselines.models import build_model

    plain = flops_per_pixel(build_model("s2dnet", width=8, num_blocks=2), 32, 32)
    conditioned = flops_per_pixel(build_model("s2dnet", width=8, num_blocks=2, conditioned=True), 32, 32)
    # The FiLM MLP runs once per image: its FLOPs spread over the 32×32 pixels, plus the per-pixel FiLM.
    assert plain < conditioned < 1.5 * plain
