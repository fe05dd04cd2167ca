"""unjpeg: remove JPEG compression artifacts.

    import unjpeg
    model = unjpeg.load("shipped:gan")
    restored = model.restore(image)   # PIL image or uint8 array; see `unjpeg.api`

The library lives in sub-packages: `unjpeg.data` (image I/O, JPEG, patches), `unjpeg.losses` (LPIPS,
metrics, sharpness), `unjpeg.baselines` (generators, L2 training), `unjpeg.gan` (the GAN) and the
application modules of this folder (restore, compare, export, CLI).
"""

from __future__ import annotations

# data/, losses/, baselines/ and gan/ are sub-packages of this one (pyproject.toml's package-dir): the
# wheel puts them inside it, and the editable install (`pip install -e .`) maps them to the checkout's folders.

# The Python API (`unjpeg.api`), imported on first use (PEP 562) so that `import unjpeg.data.images`
# and the CLI's start-up load neither it nor, through it, Pillow-heavy or TensorFlow code.
_API = (
    "FileOptions",
    "ImageError",
    "Model",
    "RestoreError",
    "SourceError",
    "TilingOptions",
    "load",
    "restore_file",
)
__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        from unjpeg import api

        return getattr(api, name)
    raise AttributeError(f"module 'unjpeg' has no attribute {name!r}")
