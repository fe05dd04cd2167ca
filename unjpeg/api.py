"""The Python API: load a model once, then restore images in memory or files.

    import unjpeg
    model = unjpeg.load("shipped:gan")            # or a run folder, .keras, .onnx
    restored = model.restore(image)               # PIL image or uint8 array, any size
    restored = model.restore(Image.open("in.jpg"))    # a JPEG opened by Pillow brings its own tables
    restored = model.restore(image, tables="in.jpg")  # a conditioned model, with that JPEG's tables
    unjpeg.restore_file("in.jpg", "out.png", model="shipped:l2")

`Model.restore` gives back the kind it was given: a PIL image (upright, alpha kept) or an array of the
same dtype and shape. A model conditioned on the quantization tables (`Model.conditioned`) runs blind
unless `tables` are given or the image is a JPEG that Pillow opened; `restore_file` reads a JPEG input's
own. Errors are one line each: `TypeError` for an input of the wrong type or dtype,
`ValueError` for a wrong shape, size or range, and the `ValueError` subclasses `SourceError` (a model
that cannot be loaded), `ImageError` (a file that cannot be read) and `RestoreError` (a refused input or
an output that cannot be written). The `unjpeg restore` command is a layer over the same functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from unjpeg import _API
from unjpeg.data.images import MIN_SIDE, ImageError, from_pil, to_pil
from unjpeg.data.jpeg import TABLE_SIZE, normalise_tables, quant_tables
from unjpeg.data.jpeg_file import pil_orientation, upright
from unjpeg.files import FileOptions, RestoreError, jpeg_steps, restore_path, to_uint8_inplace
from unjpeg.sources import Restorer, SourceError, load_restorer  # noqa: F401 - SourceError: re-exported (_API)
from unjpeg.tiling import TilingOptions, restore_image

__all__ = list(_API)  # the names `unjpeg` exposes, listed once in unjpeg/__init__.py

SHAPES = "(H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
OUTPUT_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@dataclass(frozen=True)
class Model:
    """A loaded generator (`restorer`, see `load`) and how it cuts photos into tiles (`tiling`)."""

    restorer: Restorer
    tiling: TilingOptions = field(default_factory=TilingOptions)

    @property
    def precision(self) -> str:
        """What the model computes in, and why: "precision: bfloat16 (auto: CPU has avx512_bf16)"."""
        return self.restorer.precision.describe()

    @property
    def conditioned(self) -> bool:
        """Whether the model takes a JPEG file's quantization tables (`restore(..., tables=...)`)."""
        return self.restorer.conditioned

    def restore(self, image, progress: bool = False, *, tables=None):
        """Restore `image`, at any size of at least 8×8 px, and return the same kind.

        - a PIL image of any mode: EXIF orientation applied, alpha passed through, returned as an L, LA,
          RGB or RGBA image (16-bit and CMYK images are refused, as by `unjpeg restore`);
        - a NumPy array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (the 4th channel is alpha, passed
          through), uint8 in [0, 255] or float in [0, 1]: returned with the same shape and dtype.
        `progress`: a bar over the tiles of a slow photo, on a terminal. `tables`, for a conditioned model
        (an unconditioned one ignores them): the JPEG file `image` was decoded from, as a path or bytes, or
        its quantization steps, (2, 64) in natural order, luma then chroma (zeros: none); None: the
        tables of a PIL image just opened from a JPEG file (`Image.open("in.jpg")`), else blind.
        """
        if tables is None and self.conditioned and isinstance(image, Image.Image) and image.format == "JPEG":
            # What the file says (None: unreadable, so blind); an edited copy has no format.
            tables = jpeg_steps(image, "image")
        vector = None if tables is None or not self.conditioned else tables_vector(tables)
        if isinstance(image, Image.Image):
            return self._restore_pil(image, progress, vector)
        if isinstance(image, np.ndarray):
            return self._restore_array(image, progress, vector)
        raise TypeError(f"restore() takes a PIL image or a NumPy array, got {type(image).__name__}")

    def _restore_pixels(self, pixels: np.ndarray, progress: bool, tables: np.ndarray | None) -> np.ndarray:
        """(H, W, C) float32 in [0, 1], C in {1, 3}, to the same, restored."""
        if min(pixels.shape[:2]) < MIN_SIDE:
            raise ValueError(
                f"image is {pixels.shape[1]}×{pixels.shape[0]}, smaller than {MIN_SIDE}×{MIN_SIDE}"
            )
        tiling = self.tiling
        return restore_image(
            self.restorer,
            pixels,
            tile=tiling.tile,
            overlap=tiling.overlap,
            fixed_size=self.restorer.fixed_size,
            self_ensemble=tiling.self_ensemble,
            progress=progress,
            tables=tables,
        )

    def _restore_pil(self, image: Image.Image, progress: bool, tables: np.ndarray | None) -> Image.Image:
        if image.mode == "CMYK":
            raise ValueError("CMYK images are not supported (convert to RGB with its colour profile first)")
        # A JPEG file is restored as stored and turned upright after (`unjpeg.files` says why).
        is_jpeg = image.format == "JPEG"
        orientation = pil_orientation(image) if is_jpeg else 1
        pixels, alpha, bit_depth = from_pil(image if is_jpeg else ImageOps.exif_transpose(image))
        if bit_depth == 16:
            raise ValueError("16-bit images are not supported (JPEG artifacts only exist in 8-bit JPEGs)")
        restored = upright(to_uint8_inplace(self._restore_pixels(pixels, progress, tables)), orientation)
        restored = to_pil(np.ascontiguousarray(restored), alpha)
        if image.info.get("icc_profile"):
            restored.info["icc_profile"] = image.info["icc_profile"]  # saved with the image by Pillow
        return restored

    def _restore_array(self, array: np.ndarray, progress: bool, tables: np.ndarray | None) -> np.ndarray:
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
            raise ValueError(f"image array must have shape {SHAPES}, got {array.shape}")
        pixels = _unit_float(array)
        channels = pixels[..., None] if array.ndim == 2 else pixels
        restored = self._restore_pixels(np.ascontiguousarray(channels[..., :3]), progress, tables)
        if array.dtype == np.uint8:
            restored = to_uint8_inplace(restored)
        else:
            restored = restored.astype(array.dtype, copy=False)
        if array.ndim == 3 and array.shape[-1] == 4:
            restored = np.concatenate([restored, array[..., 3:]], axis=-1)  # alpha unchanged
        return restored.reshape(array.shape)


def tables_vector(tables) -> np.ndarray:
    """`Model.restore`'s `tables` (a JPEG path or bytes, or (2, 64) steps) as the (128,) float32 vector of
    `data.jpeg.normalise_tables`. ValueError for a file that is no JPEG or steps of another shape;
    ImageError for a path that cannot be read."""
    if isinstance(tables, (str, Path)):
        try:
            tables = Path(tables).read_bytes()
        except OSError as err:
            raise ImageError(f"{tables}: cannot read ({err.strerror or err})") from None
    if isinstance(tables, (bytes, bytearray)):
        if not tables.startswith(b"\xff\xd8\xff"):
            raise ValueError("tables: not a JPEG file (no SOI marker), so it has no quantization tables")
        return normalise_tables(quant_tables(bytes(tables))[0])
    steps = np.asarray(tables)
    if steps.shape != (2, TABLE_SIZE):
        raise ValueError(
            f"tables must be a JPEG path or bytes, or (2, {TABLE_SIZE}) steps; got shape {steps.shape}"
        )
    return normalise_tables(steps)


def _unit_float(array: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] or float [0, 1] `array` as float32 in [0, 1]; TypeError / ValueError otherwise."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"image array must be uint8 (0-255) or float (0-1), got dtype {array.dtype}")
    if array.size and not np.isfinite(array).all():
        raise ValueError("image array holds NaN or infinite values")
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"a float image array must be in [0, 1], got values in [{low:.4g}, {high:.4g}] "
            "(pass 0-255 data as uint8, or divide it by 255)"
        )
    return array.astype(np.float32, copy=False)


def load(
    source: str | Path = "shipped:gan",
    *,
    precision: str = "auto",
    strength: float | None = None,
    tiling: TilingOptions | None = None,
) -> Model:
    """Load a generator: `source` is "shipped:gan", "shipped:l2", a run folder, or a .keras, .onnx or
    .tflite file or SavedModel folder. `precision`: "auto" (bfloat16 where the CPU has AMX or AVX-512
    BF16), "float32" or "bfloat16". `strength` in [0, 1] blends L2 into GAN weights (GAN runs and
    shipped:gan). Raises SourceError."""
    restorer = load_restorer(str(source), strength, precision)
    return Model(restorer, tiling or TilingOptions())


def restore_file(
    source: str | Path,
    target: str | Path,
    model: str | Path | Model = "shipped:gan",
    *,
    options: FileOptions | None = None,
    force: bool = False,
    precision: str = "auto",
) -> Path:
    """Restore image file `source` into `target` as `unjpeg restore` does, and return `target`.

    The format follows `target`'s suffix (.png, .jpg, .jpeg); `options` sets the rest (tiling, JPEG
    quality, PNG level, pixel limit). `model` is a loaded `Model` or a source for `load` (with
    `precision`). An existing `target` is replaced only with `force`, and never when it is `source`.
    Raises ImageError, RestoreError or SourceError.
    """
    source, target = Path(source), Path(target)
    image_format = OUTPUT_FORMATS.get(target.suffix.lower())
    if image_format is None:
        raise RestoreError(f"{target}: output must end in {', '.join(OUTPUT_FORMATS)}")
    if target.exists() and target.resolve() == source.resolve():
        raise RestoreError(f"{source}: output {target} would overwrite the input")
    if target.exists() and not force:
        raise RestoreError(f"{source}: output {target} exists (use force=True to replace it)")
    loaded = model if isinstance(model, Model) else load(model, precision=precision)
    options = dataclasses.replace(options or FileOptions(tiling=loaded.tiling), format=image_format)
    restore_path(loaded.restorer, source, target, options)
    return target
