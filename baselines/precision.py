"""Which floating-point precision the generators compute in, chosen from the hardware.

CPUs with bfloat16 matrix units (Intel AMX: `amx_bf16`; AVX-512 BF16: `avx512_bf16` in /proc/cpuinfo)
run convolutions several times faster under Keras's `mixed_bfloat16` policy; on CPUs without them
bfloat16 is emulated and much slower than float32 (tensorflow/tensorflow#42422), so `auto` follows the
flags. On a GPU, `auto` keeps float32 (mixed_float16 stays behind train-gan's --mixed-precision).

Mixed policies keep the variables in float32, so weights on disk and in exports stay float32. Only the
inner convolutions and their activations compute in bfloat16 (`keeps_float32`): the input, the residual
stream, the output convolution and the global residual add stay float32, so the JPEG passes through
unrounded and only the predicted correction carries bfloat16 rounding. Keeping the stream float32 as
well as the output halved the largest deviation from float32 on `shipped:gan`, at the same speed (the
measurement is in the commit that made the choice).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

# Keras and TensorFlow are imported inside the functions that build layers, so choosing a precision
# (and restoring with ONNX Runtime) never starts TensorFlow.

log = logging.getLogger(__name__)

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # in order of preference for the reason string
CHOICES = ("auto", "float32", "bfloat16")
PRECISION_HELP = "compute precision: auto (bfloat16 where the CPU has AMX or AVX-512 BF16), float32, bfloat16"
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


@dataclass(frozen=True)
class Precision:
    """A chosen precision: `name` ("float32", "bfloat16", "float16"), its Keras dtype `policy`
    ("float32", "mixed_bfloat16", "mixed_float16") and a one-line `reason` for the output."""

    name: str
    policy: str
    reason: str

    def describe(self) -> str:
        return f"precision: {self.name} ({self.reason})"


def read_cpuinfo(path: str | Path = CPUINFO) -> str:
    """The text of /proc/cpuinfo, or "" where there is none (macOS, Windows, some containers)."""
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in `cpuinfo` text ("flags" on x86, "Features" on Arm)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_model(cpuinfo: str) -> str:
    """The CPU's model name from `cpuinfo` text, or "unknown CPU"."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return "unknown CPU"


def gpu_available() -> bool:
    """Whether TensorFlow sees a GPU (imports TensorFlow)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


FLOAT32 = Precision("float32", "float32", "asked for float32")


def choose_precision(
    requested: str = "auto", *, gpu: bool = False, mixed_float16: bool = False, cpuinfo: str | None = None
) -> Precision:
    """Resolve --precision `requested` ("auto", "float32", "bfloat16") for this machine.

    `gpu`: the caller runs on a GPU (see `gpu_available`); `mixed_float16`: train-gan's --mixed-precision
    was given, which keeps its meaning (mixed_float16) and conflicts only with an explicit bfloat16.
    `cpuinfo` is /proc/cpuinfo's text, read when None. Raises ValueError for an unknown choice.
    """
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {requested!r}")
    if mixed_float16:
        if requested == "bfloat16":
            raise ValueError("--mixed-precision (mixed_float16) conflicts with --precision bfloat16")
        return Precision("float16", POLICIES["float16"], "--mixed-precision: mixed_float16")
    if requested != "auto":
        return Precision(requested, POLICIES[requested], f"asked for {requested}")
    if gpu:
        return Precision("float32", "float32", "auto: on a GPU float32 is the default")
    flags = cpu_flags(read_cpuinfo() if cpuinfo is None else cpuinfo)
    found = [flag for flag in BF16_FLAGS if flag in flags]
    if found:
        return Precision("bfloat16", POLICIES["bfloat16"], f"auto: CPU has {found[0]}")
    return Precision("float32", "float32", "auto: CPU has no bfloat16 units (amx_bf16, avx512_bf16)")


@contextlib.contextmanager
def dtype_policy(policy: str):
    """Build layers under the global Keras dtype policy `policy` ("float32", "mixed_bfloat16",
    "mixed_float16"), then restore the previous one."""
    import keras

    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(saved)


def keeps_float32(model: keras.Model) -> set[str]:
    """Names of the layers of functional `model` that stay float32 under a mixed policy: all but the
    convolutions between the first and the last one, and the activations fed directly by those.

    So the input, the residual stream (adds, scalings), normalisations, shape layers, the output
    convolution and the global residual add are float32, and the low-precision work is the bulk of
    the FLOPs: the inner convolutions, which accumulate in float32 inside oneDNN anyway.
    """
    import keras

    convolutions = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
    activations = (keras.layers.LeakyReLU, keras.layers.ReLU, keras.layers.ELU, keras.layers.Activation)
    convs = [layer for layer in model.layers if isinstance(layer, convolutions)]
    low = {layer.name for layer in convs[1:-1]}
    for layer in model.layers:
        history = getattr(layer.input, "_keras_history", None) if isinstance(layer, activations) else None
        if history is not None and history.operation.name in low:
            low.add(layer.name)
    return {layer.name for layer in model.layers if layer.name not in low}


def with_precision(model: keras.Model, precision: Precision) -> keras.Model:
    """A copy of float32 functional `model` that computes under `precision.policy`, sharing none of its
    variables; variables stay float32 and the output is float32. float32 returns `model` itself."""
    import keras

    if precision.policy == "float32":
        return model
    keep = keeps_float32(model)

    def clone(layer):
        dtype = "float32" if layer.name in keep else precision.policy
        return layer.__class__.from_config({**layer.get_config(), "dtype": dtype})

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    log.debug("%s computes under %s; float32 kept for %s", model.name, precision.policy, sorted(keep))
    return copy
