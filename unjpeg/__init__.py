"""unjpeg: remove JPEG compression artifacts.

    import unjpeg
    model = unjpeg.load("shipped:gan")
    restored = model.restore(image)   # PIL image or uint8 array; see `unjpeg.api`

The library lives in sub-packages: `unjpeg.data` (image I/O, JPEG, patches), `unjpeg.losses` (LPIPS,
metrics, sharpness), `unjpeg.baselines` (generators, L2 training), `unjpeg.gan` (the GAN) and the
application modules of this folder (restore, compare, export, CLI).
"""

from __future__ import annotations

from pathlib import Path

# A wheel installs data/, losses/, baselines/ and gan/ inside this package (see pyproject.toml's
# package-dir). In a source checkout they are folders beside this one, so look for them there too.
_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "gan" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))

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
