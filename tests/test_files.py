"""`unjpeg.files` function by function: EXIF patching, atomic writes, refusals, tables and orientation.

`unjpeg restore` end to end is tested in test_restore.py; a conditioned model on JPEG tables and turned JPEGs
in test_conditioned_restore.py.
"""

import logging
import struct

import numpy as np
import pytest
from PIL import Image
from unjpeg.data.jpeg import normalise_tables

from tests.helpers import write_png_16bit_rgb
from unjpeg.files import (
    FileOptions,
    RestoreError,
    exif_upright,
    file_tables,
    jpeg_steps,
    refuse_unsupported,
    restore_path,
    stored_orientation,
    to_uint8_inplace,
    write_atomic,
)
from unjpeg.sources import Restorer

# Asymmetric steps 1..64 (luma) and 2..128 (chroma) in natural order: a wrong table or order shows.
STEPS = np.stack([np.arange(1, 65), np.arange(2, 130, 2)])
ORIENTATION = 0x0112
MAKE = 0x010F
RESOLUTION_UNIT = 0x0128


def pixels(height=16, width=24, bands=3, seed=0) -> np.ndarray:
    """(H, W, bands) uint8 noise, or (H, W) for one band."""
    array = np.random.default_rng(seed).integers(0, 256, (height, width, bands), dtype=np.uint8)
    return array[..., 0] if bands == 1 else array


def save_jpeg(path, array=None, **options):
    """`array` (default `pixels()`) as a JPEG with the quantization steps STEPS (luma only if gray)."""
    array = pixels() if array is None else array
    tables = STEPS[:1] if array.ndim == 2 else STEPS
    Image.fromarray(array).save(path, format="JPEG", qtables=tables.tolist(), **options)
    return path


def turned_exif(orientation=6) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def tiff_exif(order: bytes, orientation: int | None = 6, prefix: bytes = b"Exif\x00\x00") -> bytes:
    """EXIF built by hand in byte order `order` (b"II" or b"MM"): IFD0 with Make ("camera", stored after
    the IFD), Orientation (if given) and ResolutionUnit 2, tags ascending as TIFF requires."""
    fmt = "<" if order == b"II" else ">"
    shorts = [(ORIENTATION, orientation)] if orientation is not None else []
    shorts.append((RESOLUTION_UNIT, 2))
    count = 1 + len(shorts)
    make_offset = 8 + 2 + 12 * count + 4
    entries = struct.pack(fmt + "HHII", MAKE, 2, 7, make_offset)
    entries += b"".join(struct.pack(fmt + "HHIHH", tag, 3, 1, value, 0) for tag, value in shorts)
    tiff = order + struct.pack(fmt + "HI", 42, 8) + struct.pack(fmt + "H", count) + entries
    return prefix + tiff + struct.pack(fmt + "I", 0) + b"camera\x00"


# exif_upright


@pytest.mark.parametrize("prefix", [b"Exif\x00\x00", b""])
@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_exif_upright_patches_only_the_orientation_value(order, prefix, tmp_path):
    data = tiff_exif(order, prefix=prefix)
    patched = exif_upright(data, tmp_path / "a.jpg")
    assert len(patched) == len(data)
    value = len(prefix) + 8 + 2 + 12 + 8  # the second IFD entry's value field
    changed = [i for i, (a, b) in enumerate(zip(data, patched, strict=True)) if a != b]
    assert changed == [value + (0 if order == b"II" else 1)]  # 6 -> 1 is the low byte
    assert patched[value : value + 2] == (b"\x01\x00" if order == b"II" else b"\x00\x01")
    exif = Image.Exif()
    exif.load(patched)
    assert (exif[ORIENTATION], exif[MAKE], exif[RESOLUTION_UNIT]) == (1, "camera", 2)


@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_exif_without_an_orientation_comes_back_unchanged(order, tmp_path):
    data = tiff_exif(order, orientation=None)
    assert exif_upright(data, tmp_path / "a.jpg") == data


@pytest.mark.parametrize("order", [b"II", b"MM"])
def test_an_orientation_stored_as_long_is_patched_too(order, tmp_path):
    """The standard says SHORT, but Pillow turns the pixels for a LONG as well, so it must be reset."""
    fmt = "<" if order == b"II" else ">"
    entry = struct.pack(fmt + "HHII", ORIENTATION, 4, 1, 6)
    data = order + struct.pack(fmt + "HIH", 42, 8, 1) + entry + struct.pack(fmt + "I", 0)
    exif = Image.Exif()
    exif.load(data)
    assert exif[ORIENTATION] == 6
    exif.load(exif_upright(data, tmp_path / "a.jpg"))
    assert exif[ORIENTATION] == 1


def test_exif_that_pillow_writes_is_patched(tmp_path):
    patched = exif_upright(turned_exif(8), tmp_path / "a.jpg")
    exif = Image.Exif()
    exif.load(patched)
    assert exif[ORIENTATION] == 1


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"Exif\x00\x00XX\x00*\x00\x00\x00\x08", "(no TIFF byte order mark)"),
        (b"", "(no TIFF byte order mark)"),
        (tiff_exif(b"II")[:20], "(unpack_from requires a buffer"),  # IFD0 cut short
        (b"Exif\x00\x00II*\x00" + struct.pack("<I", 4000), "(unpack_from requires a buffer"),
    ],
)
def test_unparseable_exif_is_dropped_with_a_warning(data, reason, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="unjpeg.files"):
        assert exif_upright(data, tmp_path / "a.jpg") == b""
    (record,) = caplog.records
    assert record.getMessage().startswith(f"{tmp_path / 'a.jpg'}: EXIF dropped, cannot be parsed {reason}")


# write_atomic


def test_write_atomic_writes_with_the_usual_permissions_and_no_temp_file(tmp_path):
    image = Image.fromarray(pixels())
    target = tmp_path / "new" / "nested" / "a.png"  # folders made as needed
    write_atomic(image, target, "PNG", {"compress_level": 1})
    with Image.open(target) as written:
        assert written.format == "PNG"
        np.testing.assert_array_equal(np.asarray(written), pixels())
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.png"]  # no .a.png.*.part left
    (tmp_path / "plain").write_bytes(b"")  # what open() gives under the same umask
    assert target.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


def test_write_atomic_replaces_an_existing_file(tmp_path):
    target = tmp_path / "a.jpg"
    target.write_bytes(b"old")
    write_atomic(Image.fromarray(pixels()), target, "JPEG", {"quality": 90})
    assert target.read_bytes()[:3] == b"\xff\xd8\xff"
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]


def test_write_atomic_refuses_a_folder_under_a_regular_file(tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    target = tmp_path / "file.txt" / "out" / "a.png"
    with pytest.raises(RestoreError) as raised:
        write_atomic(Image.fromarray(pixels()), target, "PNG", {})
    assert str(raised.value) == f"{target}: cannot write (Not a directory)"


def test_write_atomic_failing_save_leaves_neither_target_nor_temp_file(tmp_path):
    target = tmp_path / "a.jpg"
    with pytest.raises(RestoreError) as raised:
        write_atomic(Image.new("LA", (8, 8)), target, "JPEG", {})  # JPEG has no alpha
    assert str(raised.value) == f"{target}: cannot write (cannot write mode LA as JPEG)"
    assert list(tmp_path.iterdir()) == []


# to_uint8_inplace


def test_to_uint8_rounds_to_nearest_and_scales_in_place():
    levels = np.array([0.0, 255.0, 0.4, 0.6, 127.4, 127.6, 254.6], np.float32)  # ×255: 0 and 1 first
    image = (levels / 255).astype(np.float32).reshape(1, 7, 1)
    got = to_uint8_inplace(image)
    assert got.dtype == np.uint8 and got.shape == (1, 7, 1)
    np.testing.assert_array_equal(got.ravel(), [0, 255, 0, 1, 127, 128, 255])
    np.testing.assert_array_equal(image.ravel(), [0, 255, 0, 1, 127, 128, 255])  # scaled in place


# refuse_unsupported

SIXTEEN_BIT = (
    "16-bit images are not supported (JPEG artifacts only exist in 8-bit JPEGs; "
    "convert it to 8-bit first if it came from a JPEG)"
)


def test_a_16_bit_png_is_refused_even_when_pillow_reads_it_as_8_bit(tmp_path):
    path = tmp_path / "rgb16.png"
    write_png_16bit_rgb(path)
    with Image.open(path) as opened:
        assert opened.mode == "RGB"  # why the IHDR is read directly
    with pytest.raises(RestoreError) as raised:
        refuse_unsupported(path, 8)
    assert str(raised.value) == f"{path}: {SIXTEEN_BIT}"


def test_a_16_bit_depth_is_refused_whatever_the_file(tmp_path):
    path = tmp_path / "a.tif"
    Image.fromarray(pixels()).save(path)
    with pytest.raises(RestoreError) as raised:
        refuse_unsupported(path, 16)
    assert str(raised.value) == f"{path}: {SIXTEEN_BIT}"


def test_a_cmyk_jpeg_is_refused(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(pixels()).convert("CMYK").save(path)
    with pytest.raises(RestoreError) as raised:
        refuse_unsupported(path, 8)
    assert str(raised.value) == (
        f"{path}: CMYK images are not supported (convert to RGB with its colour profile first)"
    )


@pytest.mark.parametrize("name, bands", [("a.png", 3), ("gray.png", 1), ("a.jpg", 3)])
def test_8_bit_images_pass(tmp_path, name, bands):
    path = tmp_path / name
    Image.fromarray(pixels(bands=bands)).save(path)
    assert refuse_unsupported(path, 8) is None


# file_tables and jpeg_steps


def test_file_tables_of_a_jpeg_are_its_normalised_steps(tmp_path, caplog):
    path = save_jpeg(tmp_path / "a.jpg")
    with caplog.at_level(logging.INFO, logger="unjpeg.files"):
        tables = file_tables(path)
    assert caplog.messages == [f"{path}: conditioned on the file's quantization tables"]
    assert tables.dtype == np.float32 and tables.shape == (128,)
    np.testing.assert_array_equal(tables, normalise_tables(STEPS))
    assert tables[0] == 0.125 and tables[64] == np.float32(np.log2(3) / 8)  # steps 1 and 2, by hand


def test_file_tables_of_a_gray_jpeg_leave_the_chroma_half_zero(tmp_path):
    tables = file_tables(save_jpeg(tmp_path / "g.jpg", pixels(bands=1)))
    np.testing.assert_array_equal(tables[:64], normalise_tables(STEPS)[:64])
    assert not tables[64:].any()


@pytest.mark.parametrize("name", ["a.png", "png_named.jpg"])  # the bytes decide, not the suffix
def test_file_tables_of_a_png_are_blind(tmp_path, caplog, name):
    path = tmp_path / name
    Image.fromarray(pixels()).save(path, format="PNG")
    with caplog.at_level(logging.INFO, logger="unjpeg.files"):
        tables = file_tables(path)
    assert caplog.messages == [f"{path}: blind (no JPEG tables)"]
    assert tables.dtype == np.float32
    np.testing.assert_array_equal(tables, np.zeros(128))


def test_file_tables_of_an_unreadable_jpeg_header_are_blind(tmp_path, caplog):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\x00" * 40)  # the JPEG signature, then nothing usable
    with caplog.at_level(logging.INFO, logger="unjpeg.files"):
        tables = file_tables(path)
    np.testing.assert_array_equal(tables, np.zeros(128))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"{path}: blind (quantization tables unreadable: ")


def test_jpeg_steps_of_a_file_and_of_an_opened_jpeg(tmp_path):
    path = save_jpeg(tmp_path / "a.jpg")
    np.testing.assert_array_equal(jpeg_steps(path), STEPS)
    with Image.open(path) as opened:
        np.testing.assert_array_equal(jpeg_steps(opened, "photo"), STEPS)


def test_jpeg_steps_without_tables_warn_with_the_given_name(tmp_path, caplog):
    path = save_jpeg(tmp_path / "a.jpg")
    with Image.open(path) as opened, caplog.at_level(logging.WARNING, logger="unjpeg.files"):
        opened.quantization = {}  # as if the header defined none
        assert jpeg_steps(opened, "photo.jpg") is None
        assert jpeg_steps(opened) is None  # no name: the file Pillow opened
    first, second = caplog.messages
    assert first.startswith("photo.jpg: blind (quantization tables unreadable: ")
    assert second.startswith(f"{path}: blind (quantization tables unreadable: ")


# stored_orientation


@pytest.mark.parametrize(
    "name, exif, expected",
    [
        ("turned.jpg", turned_exif(6), 6),
        ("plain.jpg", None, 1),
        ("invalid.jpg", turned_exif(9), 1),
        ("turned.png", turned_exif(6), 1),  # a PNG's pixels have no 8×8 grid to keep
    ],
)
def test_stored_orientation(tmp_path, name, exif, expected):
    path = tmp_path / name
    Image.fromarray(pixels()).save(path, **({"exif": exif} if exif else {}))
    assert stored_orientation(path) == expected


# restore_path


class Negative:
    """A stand-in restorer: 1 - x, so its output differs from its input; records the shapes it saw."""

    def __init__(self):
        self.shapes = []

    def __call__(self, batch):
        self.shapes.append(batch.shape)
        return 1.0 - batch


def negative_restorer():
    spy = Negative()
    return Restorer("negative", spy), spy


@pytest.mark.parametrize("bands", [3, 1])
def test_restore_path_writes_the_restorers_output_exactly(tmp_path, bands):
    source = tmp_path / "a.png"
    Image.fromarray(pixels(bands=bands)).save(source)
    restorer, _ = negative_restorer()
    target = tmp_path / "out" / "a.png"
    restore_path(restorer, source, target, FileOptions())
    with Image.open(target) as written:
        assert written.mode == ("RGB" if bands == 3 else "L")
        np.testing.assert_array_equal(np.asarray(written), 255 - pixels(bands=bands))
    assert [p.name for p in target.parent.iterdir()] == ["a.png"]


def test_restore_path_restores_a_turned_png_upright_and_resets_its_orientation(tmp_path):
    source = tmp_path / "turned.png"
    Image.fromarray(pixels(16, 24)).save(source, exif=turned_exif(6))
    restorer, spy = negative_restorer()
    restore_path(restorer, source, tmp_path / "out.png", FileOptions())
    assert [shape[1:3] for shape in spy.shapes] == [(24, 16)]  # upright: no grid to keep
    with Image.open(tmp_path / "out.png") as written:
        assert written.size == (16, 24) and written.getexif()[ORIENTATION] == 1
        np.testing.assert_array_equal(np.asarray(written), 255 - np.rot90(pixels(16, 24), -1))


def test_restore_path_jpeg_output_is_4_4_4_at_the_asked_quality(tmp_path):
    source = tmp_path / "a.png"
    Image.fromarray(pixels()).save(source)
    restorer, _ = negative_restorer()
    restore_path(restorer, source, tmp_path / "a.jpg", FileOptions(format="jpeg", jpeg_quality=80))
    Image.fromarray(pixels()).save(tmp_path / "reference.jpg", quality=80)
    with Image.open(tmp_path / "a.jpg") as written, Image.open(tmp_path / "reference.jpg") as reference:
        assert written.format == "JPEG"
        assert [component[1:3] for component in written.layer] == [(1, 1)] * 3  # not subsampled
        assert written.quantization == reference.quantization
