"""The one place that maps a generator name to its builder, and names the custom layers they use."""

from __future__ import annotations

import keras
from unjpeg.baselines.autoencoder import build_autoencoder, build_autoencoder_fc
from unjpeg.baselines.blockcnn import build_blockcnn
from unjpeg.baselines.conditioning import FiLM
from unjpeg.baselines.layers import CropLike, DepthToSpace, PadToMultiple, SpaceToDepth
from unjpeg.baselines.luma_consistency import LumaConsistency
from unjpeg.baselines.s2dnet import build_s2dnet

MODELS = {
    "autoencoder-fc": build_autoencoder_fc,
    "autoencoder": build_autoencoder,
    "blockcnn": build_blockcnn,
    "s2dnet": build_s2dnet,
}

# Every custom layer of the generators (and `LumaConsistency`, in a --consistency-loss run's checkpoint)
# under its registered name ("unjpeg>PadToMultiple", as a .keras file stores it), for
# `keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS)`: a loader names what it needs instead of
# relying on an import that registers the layers as a side effect.
CUSTOM_OBJECTS = {
    keras.saving.get_registered_name(layer): layer
    for layer in (PadToMultiple, CropLike, SpaceToDepth, DepthToSpace, FiLM, LumaConsistency)
}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build generator `name` (a key of MODELS) with builder keyword arguments, e.g. `width=8` for tests."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](**kwargs)
