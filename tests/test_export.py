"""`unjpeg export`: every format reloads with the Keras model's output, and restoring from an export
does not import the training code."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.baselines.models import build_model

from tests.helpers import has_onnx, randomised
from unjpeg import export
from unjpeg.cli import main
from unjpeg.sources import load_restorer

REPO = Path(__file__).resolve().parents[1]
FORMATS = {"keras": "g.keras", "savedmodel": "g_savedmodel", "tflite": "g.tflite", "onnx": "g.onnx"}


def skip_without_onnx(image_format: str) -> None:
    if image_format == "onnx":
        pytest.importorskip("tf2onnx", reason="ONNX export needs the [export] extra (tf2onnx)")
        pytest.importorskip("onnxruntime", reason="ONNX export needs the [export] extra (onnxruntime)")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny s2dnet .keras file and its exports, made through the CLI; {format: path}."""
    root = tmp_path_factory.mktemp("export")
    model = randomised(build_model("s2dnet", width=8))
    model.save(root / "source.keras")
    paths = {"source": root / "source.keras"}
    for image_format, name in FORMATS.items():
        if image_format == "onnx" and not has_onnx():
            continue
        args = ["export", str(root / "source.keras"), "--format", image_format, "-o", str(root / name)]
        assert main(args) == 0
        paths[image_format] = root / name
    return model, paths


@pytest.mark.parametrize("image_format", sorted(FORMATS))
def test_round_trip_parity(exported, image_format):
    skip_without_onnx(image_format)
    model, paths = exported
    restorer = load_restorer(str(paths[image_format]))
    assert restorer.fixed_size is None
    for shape in ((1, 72, 104, 3), (3, 45, 61, 3)):  # dynamic batch, height and width
        images = np.random.default_rng(1).random(shape, dtype=np.float32)
        got = restorer.fn(images)
        assert got.shape == shape and got.dtype == np.float32
        assert np.abs(got - model(images).numpy()).max() < 1e-4


@pytest.mark.parametrize("image_format", ["savedmodel", "tflite", "onnx"])
def test_fixed_size_model_keeps_its_size(tmp_path, image_format):
    skip_without_onnx(image_format)
    autoencoder = pytest.importorskip("unjpeg.baselines.autoencoder")
    model = randomised(autoencoder.build_autoencoder_fc(width=4))
    path = tmp_path / FORMATS[image_format]
    assert export.export_checked(model, image_format, path) < 1e-4
    assert load_restorer(str(path)).fixed_size == 32


def test_refuses_to_overwrite_and_checks_suffix(exported, capsys):
    _, paths = exported
    source = str(paths["source"])
    assert main(["export", source, "--format", "keras", "-o", str(paths["keras"])]) == 2
    assert "exists (use --force to replace it)" in capsys.readouterr().err
    assert main(["export", source, "--format", "onnx", "-o", str(paths["source"].parent / "g.bin")]) == 2
    assert "needs a path ending in .onnx" in capsys.readouterr().err
    assert main(["export", source, "--format", "keras", "-o", source, "--force"]) == 2
    assert "is the SOURCE itself" in capsys.readouterr().err


def test_savedmodel_force_replaces_folder(exported):
    _, paths = exported
    args = [
        "export",
        str(paths["source"]),
        "--format",
        "savedmodel",
        "-o",
        str(paths["savedmodel"]),
        "--force",
    ]
    assert main(args) == 0
    assert (paths["savedmodel"] / "saved_model.pb").is_file()
    assert not [p for p in paths["savedmodel"].parent.iterdir() if ".export-" in p.name]  # staging removed


def test_mismatch_fails_with_the_difference(tmp_path, monkeypatch):
    model = randomised(build_model("s2dnet", width=8), seed=1)
    other = randomised(build_model("s2dnet", width=8), seed=2)
    real_export = export.export_model
    monkeypatch.setattr(
        export, "export_model", lambda _, image_format, path: real_export(other, image_format, path)
    )
    with pytest.raises(
        export.ExportError,
        match=r"differs from the Keras model by [0-9.e+-]+ \(max abs, tolerance 0.0001\); nothing written",
    ):
        export.export_checked(model, "keras", tmp_path / "g.keras")
    assert list(tmp_path.iterdir()) == []


TRAINING = ("unjpeg.baselines.train", "unjpeg.baselines.models", "unjpeg.gan.model", "unjpeg.gan.train_gan")
# `import tensorflow` itself imports keras when Keras 3 is installed (tensorflow/__init__.py eagerly loads
# keras.src.optimizers for SavedModel registrations), so only ONNX can also be checked for keras.
FORBIDDEN = {"onnx": (*TRAINING, "keras", "tensorflow"), "savedmodel": TRAINING}
CHECK = """
import json, sys
from unjpeg.cli import main
code = main(["restore", sys.argv[1], "-o", sys.argv[2], "--model", sys.argv[3]])
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m in %r)}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("image_format", sorted(FORBIDDEN))
def test_restore_from_export_skips_training_code(exported, tmp_path, image_format):
    skip_without_onnx(image_format)
    _, paths = exported
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 48, 3), np.uint8)).save(tmp_path / "a.jpg")
    check = CHECK % (FORBIDDEN[image_format],)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            check,
            str(tmp_path / "a.jpg"),
            str(tmp_path / "out"),
            str(paths[image_format]),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "modules": []}
    assert (tmp_path / "out" / "a.png").is_file()
