"""The one place that maps a generator name to its builder."""

from __future__ import annotations

import keras
from unjpeg.baselines.autoencoder import build_autoencoder, build_autoencoder_fc
from unjpeg.baselines.blockcnn import build_blockcnn
from unjpeg.baselines.s2dnet import build_s2dnet

MODELS = {
    "autoencoder-fc": build_autoencoder_fc,
    "autoencoder": build_autoencoder,
    "blockcnn": build_blockcnn,
    "s2dnet": build_s2dnet,
}


def build_model(name: str, **kwargs) -> keras.Model:
    """Build generator `name` (a key of MODELS) with builder keyword arguments, e.g. `width=8` for tests."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](**kwargs)
