"""The project installed from its wheel (not editable), run from a user's folder that holds its own
`data/` and `losses/` packages: the API and the CLI both come from `unjpeg.*` and never pick up the user's.

The environment is a fresh virtual environment that sees the project's site-packages through a `.pth`
line, so TensorFlow is there but the editable install's import finder is not (a `.pth` line adds a path;
the `.pth` files inside that path are not run). The wheel is built from a copy of the sources, so a stale
`build/` folder in the checkout cannot leak old files into it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import saved_tiny_s2dnet
from PIL import Image

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
USER_PACKAGES = ("data", "losses")


def copy_sources(destination: Path) -> None:
    """pyproject.toml, the README and every folder that pyproject's package-dir installs."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    destination.mkdir()
    for name in ("pyproject.toml", pyproject["project"]["readme"]):
        shutil.copy(REPO / name, destination / name)
    for folder in sorted(set(pyproject["tool"]["setuptools"]["package-dir"].values())):
        shutil.copytree(REPO / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__"))


def run(command, cwd, timeout=120):
    """Run `command` in `cwd` without the caller's PYTHONPATH or TensorFlow log settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    }
    return subprocess.run(
        [str(word) for word in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built wheel, a venv with it installed, and a user's folder with its own data/ and losses/."""
    root = tmp_path_factory.mktemp("wheel")
    copy_sources(root / "src")
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "-w", root / "dist", root / "src"], root)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("unjpeg-*.whl")

    venv = root / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", venv], root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip()
    )
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel]
    installed_wheel = run(pip, root)
    assert installed_wheel.returncode == 0, installed_wheel.stderr

    user = root / "user"
    for package in USER_PACKAGES:
        (user / package).mkdir(parents=True)
        (user / package / "__init__.py").write_text("")
    # The user's own data.images: importing it instead of unjpeg.data.images fails loudly.
    (user / "data" / "images.py").write_text("raise ImportError('the user\\'s data.images was imported')\n")
    pixels = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(user / "photo.jpg", quality=30)
    saved_tiny_s2dnet(user)
    return SimpleNamespace(wheel=wheel, python=python, site=site, unjpeg=venv / "bin" / "unjpeg", user=user)


def test_wheel_holds_only_the_unjpeg_package_and_its_data(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "unjpeg",
        installed.wheel.name.split("-py3")[0] + ".dist-info",
    }
    for expected in (
        "shipped/l2.keras",
        "shipped/gan.keras",
        "losses/weights/lpips_alex.npz",
        "data/images.py",
    ):
        assert f"unjpeg/{expected}" in names


# Imports every module of the installed package (any bare `import data` or `from losses ...` inside it
# would meet the user's packages and fail), reads an image through the API, loads the shipped models with
# the layers named explicitly, and reports where each module came from.
IMPORT_EVERYTHING = """
import json, pkgutil, sys
from pathlib import Path
import unjpeg
names = [m.name for m in pkgutil.walk_packages(unjpeg.__path__, "unjpeg.")]
for name in names:
    __import__(name)
from unjpeg.data.images import read_image
image = read_image("photo.jpg")
import keras
from unjpeg.baselines.models import CUSTOM_OBJECTS
shipped = Path(unjpeg.__file__).parent / "shipped"
params = {
    path.stem: keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False).count_params()
    for path in sorted(shipped.glob("*.keras"))
}
print(json.dumps({
    "files": {n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n.split(".")[0] == "unjpeg"},
    "user": [n for n in sys.modules if n.split(".")[0] in ("data", "losses", "gan", "baselines")],
    "shape": list(image.pixels.shape), "modules": names, "shipped_params": params,
}))
"""


def test_api_comes_from_the_wheel_beside_a_users_own_packages(installed):
    result = run([installed.python, "-c", IMPORT_EVERYTHING], installed.user)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert {"unjpeg.cli", "unjpeg.data.images", "unjpeg.losses.lpips", "unjpeg.gan.model"} <= set(
        report["modules"]
    )
    assert report["user"] == []
    assert report["shape"] == [24, 40, 3]
    # The shipped .keras files name their layers' module "baselines.layers" (saved before the move);
    # Keras finds them by registered name ("unjpeg>PadToMultiple") in CUSTOM_OBJECTS.
    assert set(report["shipped_params"]) == {"l2", "gan"}
    assert min(report["shipped_params"].values()) > 1_000_000
    for name, file in report["files"].items():
        assert file is None or Path(file).is_relative_to(installed.site), (name, file)


def test_cli_restores_from_the_wheel_and_prints_only_its_own_lines(installed):
    helped = run([installed.python, "-m", "unjpeg.cli", "--help"], installed.user)
    assert helped.returncode == 0, helped.stderr
    assert "restore" in helped.stdout

    restored = run(
        [installed.unjpeg, "restore", "--model", "tiny.keras", "-o", "out", "photo.jpg"], installed.user
    )
    assert restored.returncode == 0, restored.stderr
    # No TensorFlow, oneDNN or absl start-up lines: stderr holds only unjpeg's own "LEVEL message" lines.
    for line in restored.stderr.splitlines():
        assert re.match(r"(DEBUG|INFO|WARNING|ERROR) \S", line), restored.stderr
    assert "restored 1 image" in restored.stdout
    with Image.open(installed.user / "out" / "photo.png") as output:
        assert output.size == (40, 24)
