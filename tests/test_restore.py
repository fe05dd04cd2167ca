"""`unjpeg restore` on temporary folders: outputs, refusals, and what the files carry through."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.helpers import saved_tiny_s2dnet, write_png_16bit_rgb
from unjpeg.cli import main

TILING = ["--tile", "16", "--overlap", "8"]  # small tiles, so 40×48 test images are really tiled


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A width-8 s2dnet with random weights, so outputs differ from inputs."""
    return str(saved_tiny_s2dnet(tmp_path_factory.mktemp("model"))[1])


def photo(height=40, width=48, mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    array = (rng.random((height, width, bands)) * 255).astype(np.uint8)
    return Image.fromarray(array[..., 0] if bands == 1 else array, mode)


def restore(model, *args) -> int:
    return main(["restore", *map(str, args), "--model", model, *TILING])


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_folder_restored_recursively(model, tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    photo().save(tmp_path / "in" / "a.jpg")
    photo(seed=1).save(tmp_path / "in" / "sub" / "b.png")
    assert restore(model, tmp_path / "in", "-o", tmp_path / "out") == 0
    assert "restored 2 image(s)" in capsys.readouterr().out
    with Image.open(tmp_path / "out" / "a.png") as out, Image.open(tmp_path / "in" / "a.jpg") as original:
        assert out.format == "PNG" and out.size == (48, 40) and out.mode == "RGB"
        assert np.abs(np.asarray(out, np.int16) - np.asarray(original, np.int16)).max() > 0  # restored
    assert (tmp_path / "out" / "sub" / "b.png").is_file()
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")]  # no temp files left


def test_self_ensemble_changes_the_output(model, tmp_path):
    photo().save(tmp_path / "a.png")
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "plain") == 0
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "ensemble", "--self-ensemble") == 0
    with (
        Image.open(tmp_path / "plain" / "a.png") as plain,
        Image.open(tmp_path / "ensemble" / "a.png") as ensemble,
    ):
        assert ensemble.size == (48, 40)
        assert np.abs(np.asarray(ensemble, np.int16) - np.asarray(plain, np.int16)).max() > 0


def test_jpeg_output(model, tmp_path):
    photo().save(tmp_path / "a.png")
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "out", "--format", "jpeg") == 0
    with Image.open(tmp_path / "out" / "a.jpg") as out:
        assert out.format == "JPEG" and out.size == (48, 40)


def test_no_overwrite_without_force(model, tmp_path, capsys):
    photo().save(tmp_path / "a.jpg")
    out = tmp_path / "out"
    assert restore(model, tmp_path / "a.jpg", "-o", out) == 0
    (out / "a.png").write_bytes(b"keep me")
    assert restore(model, tmp_path / "a.jpg", "-o", out) == 1
    assert error_lines(capsys) == [
        f"error: {tmp_path / 'a.jpg'}: output {out / 'a.png'} exists (use --force to replace it)"
    ]
    assert (out / "a.png").read_bytes() == b"keep me"
    assert restore(model, tmp_path / "a.jpg", "-o", out, "--force") == 0
    assert (out / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_never_overwrites_an_input(model, tmp_path, capsys):
    photo().save(tmp_path / "x.png")
    photo(seed=1).save(tmp_path / "y.jpg")
    photo(seed=2).save(tmp_path / "y.png")  # y.jpg's output would be this other input
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert restore(model, tmp_path, "-o", tmp_path, "--force") == 1
    lines = error_lines(capsys)
    assert len(lines) == 3 and all("would overwrite an input" in line for line in lines)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def write_bomb(path):
    """A valid tiny PNG whose IHDR claims 50000×50000 pixels (CRC fixed, so only the size is wrong)."""
    buffer = io.BytesIO()
    photo(8, 8).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    struct.pack_into(">II", data, 16, 50000, 50000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def make_bad_files(folder):
    """Every kind of bad input, with the words its one-line error must contain."""
    (folder / "empty.jpg").write_bytes(b"")
    buffer = io.BytesIO()
    photo(64, 64).save(buffer, format="JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (folder / "notes.jpg").write_text("this is not a picture\n")
    photo().convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.full((16, 16), 40000, np.uint16)).save(folder / "gray16.png")
    write_png_16bit_rgb(folder / "rgb16.png")
    photo(1, 1).save(folder / "dot.png")
    photo(7, 20).save(folder / "thin.png")
    write_bomb(folder / "bomb.png")
    return {
        "empty.jpg": "empty file (0 bytes)",
        "truncated.jpg": "not a readable image",
        "notes.jpg": "not a readable image",
        "cmyk.jpg": "CMYK images are not supported",
        "gray16.png": "16-bit images are not supported",
        "rgb16.png": "16-bit images are not supported",
        "dot.png": "image is 1×1, smaller than 8×8",
        "thin.png": "image is 20×7, smaller than 8×8",
        "bomb.png": "decompression bomb",
    }


def test_mixed_folder_reports_each_bad_file_and_restores_the_rest(model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    reasons = make_bad_files(folder)
    photo().save(folder / "good.jpg")
    assert restore(model, folder, "-o", tmp_path / "out") == 1
    lines = error_lines(capsys)
    assert len(lines) == len(reasons)
    for name, reason in reasons.items():
        (line,) = [line for line in lines if f"{folder / name}:" in line]
        assert reason in line, line
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]


@pytest.mark.parametrize("name", ["empty.jpg", "cmyk.jpg", "rgb16.png", "bomb.png"])
def test_single_bad_file_gives_one_line(model, tmp_path, capsys, name):
    reasons = make_bad_files(tmp_path)
    assert restore(model, tmp_path / name, "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and reasons[name] in err


def test_missing_input_and_bad_model(model, tmp_path, capsys):
    assert restore(model, tmp_path / "nope.jpg", "-o", tmp_path / "out") == 1
    assert error_lines(capsys) == [f"error: {tmp_path / 'nope.jpg'}: no such file or folder"]
    photo().save(tmp_path / "a.jpg")
    code = main(["restore", str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), "--model", "model.pt"])
    assert code == 2
    assert "unknown model source" in capsys.readouterr().err


def test_unwritable_output_folder(model, tmp_path, capsys):
    photo().save(tmp_path / "a.jpg")
    (tmp_path / "file.txt").write_text("a file, so nothing can be created below it")
    assert restore(model, tmp_path / "a.jpg", "-o", tmp_path / "file.txt" / "out") == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'file.txt' / 'out'}: output folder is not writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_read_only_output_folder(model, tmp_path, capsys):
    photo().save(tmp_path / "a.jpg")
    (tmp_path / "out").mkdir(mode=0o500)
    assert restore(model, tmp_path / "a.jpg", "-o", tmp_path / "out") == 2
    assert "output folder is not writable" in capsys.readouterr().err


def test_exif_orientation_and_icc_profile_survive(model, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "unjpeg test camera"
    photo(40, 48).save(tmp_path / "a.jpg", exif=exif.tobytes(), icc_profile=icc)
    for image_format, suffix in (("png", ".png"), ("jpeg", ".jpg")):
        out = tmp_path / image_format
        assert restore(model, tmp_path / "a.jpg", "-o", out, "--format", image_format) == 0
        with Image.open(out / f"a{suffix}") as restored:
            assert restored.size == (40, 48)  # upright: width and height swapped
            assert restored.info["icc_profile"] == icc
            assert restored.getexif()[0x0112] == 1
            assert restored.getexif()[0x010F] == "unjpeg test camera"


def test_gray_stays_gray(model, tmp_path):
    photo(mode="L").save(tmp_path / "g.jpg")
    assert restore(model, tmp_path / "g.jpg", "-o", tmp_path / "out") == 0
    with Image.open(tmp_path / "out" / "g.png") as out:
        assert out.mode == "L" and out.size == (48, 40)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_carried_through(model, tmp_path, capsys, mode):
    source = photo(mode=mode)
    source.save(tmp_path / "a.png")
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "out") == 0
    with Image.open(tmp_path / "out" / "a.png") as out:
        assert out.mode == mode
        assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(source.getchannel("A")))
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "jpeg", "--format", "jpeg") == 1
    assert "alpha channel, which JPEG cannot store" in capsys.readouterr().err


def test_outdir_nested_in_or_above_the_input_folder(model, tmp_path, capsys):
    folder = tmp_path / "photos" / "raw"
    folder.mkdir(parents=True)
    photo().save(folder / "a.jpg")
    for _ in range(2):  # the second run must not pick up the first run's output as an input
        assert restore(model, folder, "-o", folder / "restored", "--force") == 0
        assert "restored 1 image(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (folder / "restored").iterdir()) == ["a.png"]
    assert restore(model, folder, "-o", tmp_path / "photos") == 0  # OUTDIR above the input folder
    assert (tmp_path / "photos" / "a.png").is_file()


def test_precision_is_chosen_and_named(model, tmp_path, caplog):
    caplog.set_level("INFO", logger="unjpeg.sources")
    photo().save(tmp_path / "a.png")
    outputs = {}
    for precision in ("float32", "bfloat16"):
        out = tmp_path / precision
        assert restore(model, tmp_path / "a.png", "-o", out, "--precision", precision) == 0
        assert f"precision: {precision} (asked for {precision})" in caplog.text
        with Image.open(out / "a.png") as restored:
            outputs[precision] = np.asarray(restored, np.int16)
    # bfloat16 rounds only the predicted correction: a few 8-bit levels at most on this random-weight net
    assert np.abs(outputs["float32"] - outputs["bfloat16"]).max() <= 4
    with pytest.raises(SystemExit):  # argparse refuses an unknown choice
        restore(model, tmp_path / "a.png", "-o", tmp_path / "x", "--precision", "float64")


def test_max_pixels_lets_a_large_photo_through(model, tmp_path, capsys):
    photo().save(tmp_path / "a.png")  # 48×40 = 1920 pixels
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "out", "--max-pixels", "1000") == 1
    assert "over the decompression bomb limit of 1,000" in capsys.readouterr().err
    assert restore(model, tmp_path / "a.png", "-o", tmp_path / "out", "--max-pixels", "1920") == 0


def test_png_compress_level_changes_the_size_not_the_pixels(model, tmp_path):
    photo().save(tmp_path / "a.png")
    for level in ("0", "9"):
        assert restore(model, tmp_path / "a.png", "-o", tmp_path / level, "--png-compress-level", level) == 0
    with Image.open(tmp_path / "0" / "a.png") as fast, Image.open(tmp_path / "9" / "a.png") as small:
        np.testing.assert_array_equal(np.asarray(fast), np.asarray(small))
    assert (tmp_path / "0" / "a.png").stat().st_size > (tmp_path / "9" / "a.png").stat().st_size
