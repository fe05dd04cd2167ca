"""The Python API driven directly: load, Model.restore on PIL images and arrays, restore_file."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import unjpeg
from tests.helpers import saved_tiny_s2dnet
from unjpeg.tiling import TilingOptions

README = Path(__file__).resolve().parent.parent / "README.md"
SMALL_TILES = TilingOptions(tile=16, overlap=8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(keras model, path) of a width-8 s2dnet with random weights, so outputs differ from inputs."""
    return saved_tiny_s2dnet(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def model(tiny):
    return unjpeg.load(tiny[1], precision="float32", tiling=SMALL_TILES)


def pixels(height=40, width=48, channels=3, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((height, width, channels)) * 255).astype(np.uint8)


def test_uint8_array_round_trip_matches_the_model(tiny):
    array = pixels()
    restored = unjpeg.load(tiny[1], precision="float32").restore(array)  # 40×48: one untiled call
    assert restored.dtype == np.uint8 and restored.shape == array.shape
    expected = np.clip(tiny[0](array[None].astype(np.float32) / 255).numpy()[0], 0, 1)
    np.testing.assert_array_equal(restored, np.rint(expected * 255).astype(np.uint8))
    assert np.abs(restored.astype(int) - array).max() > 0  # restored, not passed through
    assert 0.2 < restored.mean() / 255 < 0.8  # not the all-white image of a uint8 read as [0, 1] floats


@pytest.mark.parametrize("shape", [(40, 48), (40, 48, 1), (40, 48, 3), (40, 48, 4)])
def test_shapes_and_dtypes_come_back_as_given(model, shape):
    array = pixels(channels=shape[2] if len(shape) == 3 else 1).reshape(shape)
    for given in (array, array.astype(np.float32) / 255, array.astype(np.float64) / 255):
        restored = model.restore(given)
        assert restored.shape == shape and restored.dtype == given.dtype
    if len(shape) == 3 and shape[2] == 4:
        np.testing.assert_array_equal(model.restore(array)[..., 3], array[..., 3])  # alpha unchanged


def test_gray_array_is_restored_as_gray(model):
    gray = pixels(channels=1)[..., 0]
    restored = model.restore(gray)
    assert restored.shape == gray.shape and np.abs(restored.astype(int) - gray).max() > 0


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros((40, 48, 3), np.int32), TypeError, "uint8 .0-255. or float .0-1., got dtype int32"),
        (
            np.full((40, 48, 3), 255.0, np.float32),
            ValueError,
            r"must be in \[0, 1\], got values in \[255, 255\]",
        ),
        (np.full((40, 48, 3), np.nan, np.float32), ValueError, "NaN"),
        (np.zeros((40, 48, 2), np.uint8), ValueError, r"shape \(H, W\), .* got \(40, 48, 2\)"),
        (np.zeros((4, 40, 48, 3), np.uint8), ValueError, "got \\(4, 40, 48, 3\\)"),
        (np.zeros((5, 48, 3), np.uint8), ValueError, "48×5, smaller than 8×8"),
        ([[0, 1], [1, 0]], TypeError, "PIL image or a NumPy array, got list"),
    ],
)
def test_wrong_inputs_raise_one_line_errors(model, image, error, message):
    with pytest.raises(error, match=message) as caught:
        model.restore(image)
    assert "\n" not in str(caught.value)


def test_pil_image_comes_back_upright_with_alpha(model):
    rgba = Image.fromarray(pixels(channels=4), "RGBA")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    rgba.info["exif"] = exif.tobytes()
    rgba.getexif()[0x0112] = 6
    restored = model.restore(rgba)
    assert isinstance(restored, Image.Image) and restored.mode == "RGBA"
    assert restored.size == (40, 48)  # upright: width and height swapped by the orientation
    np.testing.assert_array_equal(
        np.asarray(restored)[..., 3], np.asarray(rgba.transpose(Image.Transpose.ROTATE_270))[..., 3]
    )
    gray = model.restore(Image.fromarray(pixels(channels=1)[..., 0], "L"))
    assert gray.mode == "L" and gray.size == (48, 40)


def test_pil_refusals(model):
    with pytest.raises(ValueError, match="CMYK images are not supported"):
        model.restore(Image.new("CMYK", (16, 16)))
    with pytest.raises(ValueError, match="16-bit images are not supported"):
        model.restore(Image.fromarray(np.full((16, 16), 40000, np.uint16)))


def test_restore_file_writes_what_the_cli_writes(model, tiny, tmp_path):
    from unjpeg.cli import main

    Image.fromarray(pixels()).save(tmp_path / "in.jpg", quality=30)
    target = unjpeg.restore_file(tmp_path / "in.jpg", tmp_path / "api.png", model)
    assert target == tmp_path / "api.png"
    argv = ["restore", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "cli"), "--model", str(tiny[1])]
    assert main([*argv, "--tile", "16", "--overlap", "8", "--precision", "float32"]) == 0
    with Image.open(target) as api, Image.open(tmp_path / "cli" / "in.png") as cli:
        np.testing.assert_array_equal(np.asarray(api), np.asarray(cli))
    jpeg = unjpeg.restore_file(tmp_path / "in.jpg", tmp_path / "out.JPG", model)
    with Image.open(jpeg) as written:
        assert written.format == "JPEG"


def test_restore_file_errors(model, tmp_path):
    Image.fromarray(pixels()).save(tmp_path / "in.png")
    unjpeg.restore_file(tmp_path / "in.png", tmp_path / "out.png", model)
    with pytest.raises(unjpeg.RestoreError, match="exists .use force=True"):
        unjpeg.restore_file(tmp_path / "in.png", tmp_path / "out.png", model)
    unjpeg.restore_file(tmp_path / "in.png", tmp_path / "out.png", model, force=True)
    with pytest.raises(unjpeg.RestoreError, match="would overwrite the input"):
        unjpeg.restore_file(tmp_path / "in.png", tmp_path / "in.png", model, force=True)
    with pytest.raises(unjpeg.RestoreError, match="must end in .png, .jpg, .jpeg"):
        unjpeg.restore_file(tmp_path / "in.png", tmp_path / "out.webp", model)
    with pytest.raises(unjpeg.ImageError, match="no such file"):
        unjpeg.restore_file(tmp_path / "missing.png", tmp_path / "m.png", model)
    with pytest.raises(unjpeg.SourceError, match="no such file"):
        unjpeg.load(tmp_path / "missing.keras")


def test_load_names_its_precision(tiny):
    assert unjpeg.load(tiny[1], precision="bfloat16").precision == "precision: bfloat16 (asked for bfloat16)"


def test_import_is_light():
    # The package and its data modules import without TensorFlow; the API comes on first use.
    code = (
        "import sys, unjpeg, unjpeg.data.images; assert 'unjpeg.api' not in sys.modules; "
        "unjpeg.load; assert 'unjpeg.api' in sys.modules; assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow  # loads the full shipped models
def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's "## Python API" example, run as written on a bundled sample."""
    section = README.read_text().split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    sample = sorted((Path(unjpeg.__file__).parent / "samples").glob("*.png"))[0]
    Image.open(sample).crop((0, 0, 96, 64)).convert("RGB").save(tmp_path / "in.jpg", quality=20)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    assert (tmp_path / "out.png").is_file()
    with Image.open(tmp_path / "out.png") as written:
        assert written.size == (96, 64)
