import keras
import numpy as np
import pytest
from unjpeg.baselines import precision
from unjpeg.baselines.precision import (
    choose_precision,
    cpu_flags,
    cpu_model,
    dtype_policy,
    keeps_float32,
    read_cpuinfo,
    with_precision,
)
from unjpeg.baselines.s2dnet import build_s2dnet

AMD_BF16 = "processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
INTEL_AMX = (
    "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: avx2 avx512f amx_tile amx_bf16 avx512_bf16\n"
)
PLAIN = "processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu sse2 avx2\n"
# The output-building layers of s2dnet that must stay float32 under a mixed policy.
S2DNET_FLOAT32 = {"pad_to_grid", "conv_out", "unfold", "residual", "crop"}
S2DNET_BFLOAT16 = {"block0_conv1", "block0_act", "block0_conv2"}  # width-8 net of one block


def test_flags_and_model_are_read_from_cpuinfo_text():
    assert {"avx512_bf16", "avx2"} <= cpu_flags(AMD_BF16)
    assert cpu_model(AMD_BF16) == "AMD EPYC 9B14"
    assert cpu_flags("") == frozenset() and cpu_model("") == "unknown CPU"


def test_missing_cpuinfo_reads_as_empty(tmp_path):
    assert read_cpuinfo(tmp_path / "absent") == ""


@pytest.mark.parametrize(
    ("cpuinfo", "name", "flag"),
    [(AMD_BF16, "bfloat16", "avx512_bf16"), (INTEL_AMX, "bfloat16", "amx_bf16"), (PLAIN, "float32", "no")],
)
def test_auto_follows_the_cpu_flags(cpuinfo, name, flag):
    chosen = choose_precision("auto", cpuinfo=cpuinfo)
    assert chosen.name == name
    assert chosen.policy == {"bfloat16": "mixed_bfloat16", "float32": "float32"}[name]
    assert flag in chosen.reason and chosen.describe().startswith(f"precision: {name} (auto")


def test_auto_reads_proc_cpuinfo_when_not_given(monkeypatch):
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: PLAIN)
    assert choose_precision().name == "float32"
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: AMD_BF16)
    assert choose_precision().name == "bfloat16"


def test_explicit_choice_wins_over_the_hardware():
    assert choose_precision("float32", cpuinfo=AMD_BF16).policy == "float32"
    assert choose_precision("bfloat16", cpuinfo=PLAIN).policy == "mixed_bfloat16"


def test_gpu_keeps_float32_unless_asked():
    assert choose_precision("auto", gpu=True, cpuinfo=AMD_BF16).name == "float32"
    assert choose_precision("bfloat16", gpu=True).policy == "mixed_bfloat16"
    assert choose_precision("auto", gpu=True, mixed_float16=True).policy == "mixed_float16"


def test_bad_or_conflicting_choices_raise():
    with pytest.raises(ValueError, match="one of"):
        choose_precision("float64")
    with pytest.raises(ValueError, match="conflicts"):
        choose_precision("bfloat16", mixed_float16=True)


def test_dtype_policy_restores_the_previous_policy():
    with dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


def test_s2dnet_built_under_bfloat16_keeps_its_output_layers_float32():
    with dtype_policy("mixed_bfloat16"):
        model = build_s2dnet(width=8, num_blocks=1)
    dtypes = {layer.name: layer.dtype_policy.compute_dtype for layer in model.layers[1:]}
    assert {name for name, dtype in dtypes.items() if dtype == "bfloat16"} == S2DNET_BFLOAT16
    assert S2DNET_FLOAT32 <= {name for name, dtype in dtypes.items() if dtype == "float32"}
    assert all(v.dtype == "float32" for v in model.weights)


def test_keeps_float32_finds_the_s2dnet_output_layers():
    # the same set that build_s2dnet marks float32 itself, so a loaded model converts like a new one
    model = build_s2dnet(width=8, num_blocks=1)
    assert keeps_float32(model) == {layer.name for layer in model.layers} - S2DNET_BFLOAT16


def _trained_like_s2dnet():
    """A tiny s2dnet with random (non-zero) weights everywhere, so the correction is not zero."""
    model = build_s2dnet(width=8, num_blocks=2)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.15, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_bfloat16_copy_matches_float32_within_tolerance():
    model = _trained_like_s2dnet()
    images = np.random.default_rng(1).random((1, 37, 50, 3)).astype(np.float32)
    reference = np.asarray(model(images))
    copy = with_precision(model, choose_precision("bfloat16"))
    restored = np.asarray(copy(images))
    assert restored.dtype == np.float32 and restored.shape == images.shape
    correction = np.abs(reference - images).max()
    deviation = np.abs(restored - reference).max()
    # bfloat16 keeps 8 significant bits: the error is a few 2^-8 of the correction, and the JPEG
    # itself passes through the float32 residual add unrounded.
    assert 0 < deviation < 0.02 * max(correction, 1.0)
    # weights of the copy are the float32 originals, and the copy's kept layers compute in float32
    assert all(v.dtype == "float32" for v in copy.weights)
    np.testing.assert_array_equal(copy.get_weights()[0], model.get_weights()[0])
    kept = {layer.name for layer in copy.layers if layer.dtype_policy.compute_dtype == "float32"}
    assert S2DNET_FLOAT32 | {"block0_add", "conv_in"} <= kept
    assert not kept & {"block1_conv1", "block1_act", "block1_conv2"}


def test_identity_s2dnet_in_bfloat16_returns_the_input_exactly():
    # Zero correction: the float32 residual path must not round the image to bfloat16 (2^-9 steps).
    model = build_s2dnet(width=8, num_blocks=1)
    images = np.random.default_rng(2).random((1, 16, 24, 3)).astype(np.float32)
    copy = with_precision(model, choose_precision("bfloat16"))
    np.testing.assert_array_equal(np.asarray(copy(images)), images)


def test_float32_returns_the_model_itself():
    model = build_s2dnet(width=8, num_blocks=1)
    assert with_precision(model, choose_precision("float32")) is model
