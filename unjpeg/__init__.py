"""unjpeg: remove JPEG compression artifacts.

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
