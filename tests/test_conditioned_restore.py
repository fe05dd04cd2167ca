"""A generator conditioned on the quantization tables restores through every path: a JPEG file with its own
tables, a PNG blind, in tiles, through the API, in `unjpeg compare` and from each export."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from unjpeg.baselines.s2dnet import build_s2dnet
from unjpeg.data.consistency import project_onto_file
from unjpeg.data.images import read_image, to_uint8
from unjpeg.data.jpeg import normalise_tables, quant_tables

import unjpeg
from tests.helpers import has_onnx, randomised
from unjpeg import export
from unjpeg.cli import main
from unjpeg.compare_conditions import Condition, degrade
from unjpeg.compare_restore import RestoreSetup, restore_all
from unjpeg.files import FileOptions, restore_to_image
from unjpeg.sources import load_restorer
from unjpeg.tiling import restore_image

REPO = Path(__file__).resolve().parents[1]
BLIND = np.zeros((1, 128), np.float32)


def photo(height: int = 40, width: int = 48, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8: gradients with noise, so JPEG leaves blocks."""
    y, x = np.mgrid[0:height, 0:width]
    smooth = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1)
    noise = np.random.default_rng(seed).integers(0, 60, (height, width, 3))
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def conditioned(tmp_path_factory):
    """A randomised conditioned s2dnet (width 8, 2 blocks: the FiLM heads are non-zero) and its .keras path."""
    model = randomised(build_s2dnet(width=8, num_blocks=2, conditioned=True))
    path = tmp_path_factory.mktemp("conditioned") / "c.keras"
    model.save(path)
    return model, path


@pytest.fixture
def jpeg(tmp_path) -> Path:
    path = tmp_path / "a.jpg"
    Image.fromarray(photo()).save(path, quality=30)
    return path


def direct(model, pixels: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """The model called on one whole image, clipped: (H, W, 3) float32 in [0, 1]."""
    return np.clip(model([pixels[None], tables.reshape(1, -1)]).numpy()[0], 0.0, 1.0)


def test_jpeg_input_is_restored_with_its_own_tables(conditioned, jpeg, caplog):
    model, path = conditioned
    restorer = load_restorer(str(path))
    assert restorer.conditioned
    with caplog.at_level(logging.INFO, logger="unjpeg.files"):
        got = np.asarray(restore_to_image(restorer, jpeg, FileOptions(consistency=False)).pil, np.float32)
    assert "conditioned on the file's quantization tables" in caplog.text
    pixels = read_image(jpeg).pixels
    tables = normalise_tables(quant_tables(jpeg.read_bytes())[0])
    assert tables.min() > 0  # both tables present
    np.testing.assert_allclose(got, direct(model, pixels, tables) * 255, atol=0.51)
    assert np.abs(got - direct(model, pixels, BLIND) * 255).max() > 2  # the tables change the output


def test_png_input_runs_blind_and_says_so(conditioned, jpeg, caplog):
    model, path = conditioned
    png = jpeg.with_suffix(".png")
    Image.open(jpeg).save(png)  # the decoded JPEG: the same pixels, no tables
    with caplog.at_level(logging.INFO, logger="unjpeg.files"):
        got = restore_to_image(load_restorer(str(path)), png, FileOptions())
    assert "blind (no JPEG tables)" in caplog.text
    blind = direct(model, read_image(png).pixels, BLIND)
    np.testing.assert_allclose(np.asarray(got.pil, np.float32), blind * 255, atol=0.51)


def test_tiled_equals_untiled_with_the_same_tables(conditioned):
    model, path = conditioned
    restorer = load_restorer(str(path))
    image = photo(72, 200).astype(np.float32) / 255
    tables = np.random.default_rng(0).random(128, dtype=np.float32)
    # Six 3×3 convs at 1/4 resolution reach 24 px (plus the fold): 64 px overlap leaves 32 px of context.
    tiled = restore_image(restorer, image, tile=32, overlap=64, tables=tables)
    np.testing.assert_allclose(tiled, direct(model, image, tables), atol=1e-4)
    blind = restore_image(restorer, image, tile=32, overlap=64)
    assert np.abs(tiled - blind).max() > 1e-2


class TablesRecorder:
    """A stand-in conditioned restore: records the tables of every call."""

    def __init__(self):
        self.tables = []

    def __call__(self, batch, tables=None):
        self.tables.append(tables)
        return batch


@pytest.mark.parametrize("options", [{"tile": 16, "overlap": 8}])
def test_every_window_gets_the_photos_tables(options):
    tables = np.linspace(0.1, 1.0, 128, dtype=np.float32)
    recorder = TablesRecorder()
    restore_image(
        recorder, np.random.default_rng(0).random((45, 70, 3), dtype=np.float32), **options, tables=tables
    )
    assert len(recorder.tables) > 1
    assert all(given is tables for given in recorder.tables)


@pytest.mark.parametrize("options", [{"tile": 16, "overlap": 8}, {"fixed_size": 32}])
def test_self_ensemble_gives_quarter_turned_copies_the_transposed_tables(options):
    tables = np.linspace(0.1, 1.0, 128, dtype=np.float32)
    transposed = tables.reshape(2, 8, 8).transpose(0, 2, 1).reshape(128)
    recorder = TablesRecorder()
    image = np.random.default_rng(0).random((45, 70, 3), dtype=np.float32)
    restore_image(recorder, image, **options, self_ensemble=True, tables=tables)
    as_given = sum(np.array_equal(given, tables) for given in recorder.tables)
    turned = sum(np.array_equal(given, transposed) for given in recorder.tables)
    assert as_given == turned == len(recorder.tables) // 2 > 1


def test_api_restores_blind_unless_given_tables(conditioned, jpeg):
    model, path = conditioned
    loaded = unjpeg.load(path, precision="float32")
    assert loaded.conditioned
    array = np.asarray(Image.open(jpeg).convert("RGB"))
    pixels = array.astype(np.float32) / 255
    tables = normalise_tables(quant_tables(jpeg.read_bytes())[0])
    blind = loaded.restore(array)
    assert np.abs(blind.astype(int) - np.round(direct(model, pixels, BLIND) * 255)).max() <= 1
    with_tables = loaded.restore(array, tables=jpeg)
    assert np.abs(with_tables.astype(int) - np.round(direct(model, pixels, tables) * 255)).max() <= 1
    assert np.abs(with_tables.astype(int) - blind).max() > 2
    np.testing.assert_array_equal(loaded.restore(array, tables=jpeg.read_bytes()), with_tables)
    steps = quant_tables(jpeg.read_bytes())[0]
    np.testing.assert_array_equal(
        loaded.restore(Image.fromarray(array), tables=steps), Image.fromarray(with_tables)
    )
    with pytest.raises(ValueError, match="not a JPEG file"):
        loaded.restore(array, tables=b"\x89PNG....")
    with pytest.raises(ValueError, match=r"\(2, 64\) steps; got shape \(128,\)"):
        loaded.restore(array, tables=tables)


def test_api_takes_the_tables_of_a_jpeg_that_pillow_opened(conditioned, jpeg):
    _, path = conditioned
    loaded = unjpeg.load(path, precision="float32")
    array = np.asarray(Image.open(jpeg).convert("RGB"))
    with_tables = loaded.restore(array, tables=jpeg)
    with Image.open(jpeg) as opened:
        assert opened.format == "JPEG"
        np.testing.assert_array_equal(np.asarray(loaded.restore(opened)), with_tables)
        # An edited copy (here converted) has lost its file, so it runs blind.
        copy = opened.convert("RGB")
        assert copy.format is None
        np.testing.assert_array_equal(np.asarray(loaded.restore(copy)), loaded.restore(array))


def test_api_unconditioned_model_ignores_tables(tmp_path, jpeg):
    randomised(build_s2dnet(width=8, num_blocks=1)).save(tmp_path / "plain.keras")
    loaded = unjpeg.load(tmp_path / "plain.keras", precision="float32")
    assert not loaded.conditioned
    array = np.asarray(Image.open(jpeg).convert("RGB"))
    np.testing.assert_array_equal(loaded.restore(array, tables=jpeg), loaded.restore(array))


def test_compare_gives_each_condition_its_own_tables(conditioned, tmp_path):
    _, path = conditioned
    restorer = load_restorer(str(path))
    original = photo(48, 56)
    for condition in (Condition(10), Condition(90, "4:4:4"), Condition(50, "4:2:0", (3, 5), 30)):
        degraded = degrade(original, condition)
        outputs = restore_all(original, condition, {"c": restorer}, RestoreSetup()).outputs
        tables = normalise_tables(quant_tables(degraded.data)[0])
        expected = to_uint8(restore_image(restorer, degraded.decoded / np.float32(255), tables=tables))
        np.testing.assert_array_equal(outputs["c", False], expected)
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(photo(64, 80)).save(folder / "a.png")
    Image.fromarray(photo(64, 72, seed=1)[..., 0]).save(folder / "gray.png")
    argv = ["compare", "--model", f"c={path}", "--data", str(folder), "--quality", "10,90", "--out"]
    assert main([*argv, str(tmp_path / "report")]) == 0
    rows = json.loads((tmp_path / "report" / "metrics.json").read_text())["rows"]
    assert sorted((row["model"], row["quality"]) for row in rows) == [
        ("c", 10),
        ("c", 90),
        ("jpeg", 10),
        ("jpeg", 90),
    ]


FORMATS = {"keras": "c.keras", "savedmodel": "c_savedmodel", "tflite": "c.tflite", "onnx": "c.onnx"}


@pytest.fixture(scope="module")
def exported(conditioned, tmp_path_factory):
    """The conditioned model exported to every format (parity checked by export_checked); {format: path}."""
    model, _ = conditioned
    root = tmp_path_factory.mktemp("exports")
    paths = {}
    for image_format, name in FORMATS.items():
        if image_format == "onnx" and not has_onnx():
            continue
        assert export.export_checked(model, image_format, root / name) < 1e-4
        paths[image_format] = root / name
    return paths


@pytest.mark.parametrize("image_format", sorted(FORMATS))
def test_exports_keep_the_tables_input(conditioned, exported, image_format):
    if image_format not in exported:
        pytest.skip("ONNX export needs the [export] extra (tf2onnx, onnxruntime)")
    model, _ = conditioned
    restorer = load_restorer(str(exported[image_format]))
    assert restorer.conditioned and restorer.fixed_size is None
    rng = np.random.default_rng(1)
    for batch, height, width in ((1, 72, 104), (3, 45, 61)):  # dynamic batch, height and width, non-square
        images = rng.random((batch, height, width, 3), dtype=np.float32)
        tables = rng.random((batch, 128), dtype=np.float32)
        tables[0] = 0.0  # one blind image in the batch
        got = restorer.fn(images, tables)
        assert got.shape == images.shape and got.dtype == np.float32
        assert np.abs(got - model([images, tables]).numpy()).max() < 1e-4


# TensorFlow and Keras are blocked: importing either raises ImportError.
BLOCKED = """
import sys
sys.modules.update(dict.fromkeys(("tensorflow", "keras"), None))
from unjpeg.cli import main
sys.exit(main(["restore", sys.argv[1], "-o", sys.argv[2], "--model", sys.argv[3]]))
"""


@pytest.mark.slow
def test_onnx_restore_needs_no_tensorflow(exported, jpeg, tmp_path):
    if "onnx" not in exported:
        pytest.skip("ONNX export needs the [export] extra (tf2onnx, onnxruntime)")
    out = tmp_path / "out"
    command = [sys.executable, "-c", BLOCKED, str(jpeg), str(out), str(exported["onnx"])]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "conditioned on the file's quantization tables" in result.stderr
    restorer = load_restorer(str(exported["onnx"]))
    tables = normalise_tables(quant_tables(jpeg.read_bytes())[0])
    expected, _ = project_onto_file(restore_image(restorer, read_image(jpeg).pixels, tables=tables), jpeg)
    got = np.asarray(Image.open(out / "a.png"), np.int32)
    assert np.abs(got - to_uint8(expected).astype(np.int32)).max() <= 1


@pytest.fixture
def turned_pair(tmp_path):
    """The same stored JPEG (45×70 px, off the 8 px grid, asymmetric tables) with EXIF orientation 6 and 1."""
    stored = photo(45, 70, seed=4)
    steps = np.tile(np.arange(4, 68, dtype=np.int64), (2, 1))  # step grows along rows: far from symmetric
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned clockwise
    Image.fromarray(stored).save(tmp_path / "turned.jpg", qtables=steps.tolist(), exif=exif.tobytes())
    Image.fromarray(stored).save(tmp_path / "stored.jpg", qtables=steps.tolist())
    return tmp_path / "turned.jpg", tmp_path / "stored.jpg"


def test_a_turned_jpeg_is_restored_as_stored_then_turned_upright(conditioned, turned_pair):
    _, path = conditioned
    restorer = load_restorer(str(path))
    turned, stored = turned_pair
    got = np.asarray(restore_to_image(restorer, turned, FileOptions()).pil)
    assert got.shape == (70, 45, 3)  # upright
    as_stored = np.asarray(restore_to_image(restorer, stored, FileOptions()).pil)
    np.testing.assert_array_equal(got, np.rot90(as_stored, -1))
    # Restoring the upright pixels instead puts the grid and the tables' rows and columns elsewhere.
    upright_pixels = read_image(turned).pixels
    wrong = restore_image(
        restorer, upright_pixels, tables=normalise_tables(quant_tables(turned.read_bytes())[0])
    )
    assert np.abs(to_uint8(wrong).astype(int) - got).max() > 2


def test_api_restores_a_turned_jpeg_as_stored_then_turned_upright(conditioned, turned_pair):
    _, path = conditioned
    loaded = unjpeg.load(path, precision="float32")
    turned, stored = turned_pair
    with Image.open(turned) as opened, Image.open(stored) as plain:
        got = np.asarray(loaded.restore(opened))
        assert got.shape == (70, 45, 3)
        np.testing.assert_array_equal(got, np.rot90(np.asarray(loaded.restore(plain)), -1))


def test_api_runs_blind_when_a_jpegs_tables_are_unreadable(conditioned, jpeg, caplog):
    _, path = conditioned
    loaded = unjpeg.load(path, precision="float32")
    with Image.open(jpeg) as opened:
        opened.quantization = {}  # as if the header had defined none
        with caplog.at_level(logging.WARNING, logger="unjpeg.files"):
            got = np.asarray(loaded.restore(opened))
    assert "image: blind (quantization tables unreadable" in caplog.text
    np.testing.assert_array_equal(got, loaded.restore(np.asarray(Image.open(jpeg).convert("RGB"))))
