"""The JPEG conditions that `unjpeg compare` measures, and the flags that name them.

A condition is how a photo reached the user: Pillow JPEG at one quality with one chroma subsampling,
optionally after an earlier compression whose 8×8 grid was shifted by a crop (FBCNN's non-aligned double
JPEG, through `unjpeg.data.jpeg.double_jpeg_bytes`). Grayscale images have no chroma, so for them every
subsampling gives the same file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unjpeg.data.jpeg import GRID, SUBSAMPLING_FLAGS, SUBSAMPLINGS, decode_jpeg, double_jpeg_bytes, jpeg_bytes

__all__ = [
    "Condition",
    "Degraded",
    "conditions",
    "degrade",
    "parse_consistency",
    "parse_double",
    "parse_qualities",
    "parse_subsamplings",
]


@dataclass(frozen=True)
class Condition:
    """One way to make the JPEG: the final `quality` and `subsampling`; with `shift` = (dy, dx), the image was
    first compressed at `first_quality`, then cropped by `shift` px off the top and left, then compressed."""

    quality: int
    subsampling: str = "4:2:0"
    shift: tuple[int, int] | None = None
    first_quality: int | None = None

    @property
    def double(self) -> str | None:
        """'DY,DX@Q1' for a double compression (the JSON and CSV column), else None."""
        return None if self.shift is None else f"{self.shift[0]},{self.shift[1]}@{self.first_quality}"

    def describe(self) -> str:
        """Human words, e.g. 'quality 30, 4:2:0, after quality 30 with the grid shifted by (3, 5) px'."""
        words = f"quality {self.quality}, {self.subsampling}"
        if self.shift is not None:
            words += f", after quality {self.first_quality} with the grid shifted by {self.shift} px"
        return words


@dataclass(frozen=True)
class Degraded:
    """A condition applied to one original: `reference` is the (H, W, C) uint8 ground truth it is scored
    against (the original, cropped like the file), `data` the JPEG file, `decoded` its (H, W, C) uint8 pixels."""

    reference: np.ndarray
    data: bytes
    decoded: np.ndarray


def conditions(
    qualities: list[int],
    subsamplings: tuple[str, ...] = ("4:2:0",),
    double: tuple[tuple[int, int], int | None] | None = None,
) -> list[Condition]:
    """Every quality × subsampling, then (with `double` = (shift, first quality or None for the same quality))
    the same grid again as double compressions."""
    single = [Condition(q, s) for q in qualities for s in subsamplings]
    if double is None:
        return single
    shift, first = double
    return single + [Condition(q, s, shift, first or q) for q in qualities for s in subsamplings]


def degrade(original: np.ndarray, condition: Condition) -> Degraded:
    """JPEG `original` ((H, W, C) uint8, C in {1, 3}) under `condition`."""
    if condition.shift is None:
        data = jpeg_bytes(original, condition.quality, condition.subsampling)
        reference = original
    else:
        dy, dx = condition.shift
        data = double_jpeg_bytes(
            original, condition.first_quality, condition.quality, condition.shift, condition.subsampling
        )
        reference = np.ascontiguousarray(original[dy:, dx:])
    return Degraded(reference, data, decode_jpeg(data))


def _integers(text: str, flag: str, example: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{flag} expects a comma-separated list like {example}, got {text!r}") from None


def parse_qualities(text: str) -> list[int]:
    """'10,20,30' -> [10, 20, 30] (sorted, unique), each in [1, 100]."""
    qualities = sorted(set(_integers(text, "--quality", "10,50,90,95")))
    if not qualities or not all(1 <= q <= 100 for q in qualities):
        raise ValueError(f"--quality values must be in [1, 100], got {text!r}")
    return qualities


def parse_subsamplings(text: str) -> tuple[str, ...]:
    """'420,444' (or '4:2:0,4:4:4') -> ('4:2:0', '4:4:4'), in the order given, unique."""
    modes = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        mode = SUBSAMPLING_FLAGS.get(part, part)
        if mode not in SUBSAMPLINGS:
            raise ValueError(
                f"--subsampling values must be among {','.join(SUBSAMPLING_FLAGS)}, got {part!r}"
            )
        if mode not in modes:
            modes.append(mode)
    if not modes:
        raise ValueError("--subsampling needs at least one of 420,422,444")
    return tuple(modes)


def parse_double(text: str) -> tuple[tuple[int, int], int | None]:
    """'3,5' -> ((3, 5), None): shift by 3 px down, 5 right, first quality = the final one; '3,5@30' ->
    ((3, 5), 30). A shift of (0, 0) or a multiple of 8 would keep the grid aligned, so it is refused."""
    shift_text, _, first_text = text.partition("@")
    shift = _integers(shift_text, "--double", "3,5 or 3,5@30")
    if len(shift) != 2 or min(shift) < 0 or all(v % GRID == 0 for v in shift):
        raise ValueError(f"--double expects DY,DX with a shift that moves the 8-px grid, got {text!r}")
    first = _integers(first_text, "--double", "3,5@30") if first_text else [None]
    if len(first) != 1 or (first[0] is not None and not 1 <= first[0] <= 100):
        raise ValueError(f"--double's first quality must be one value in [1, 100], got {text!r}")
    return (shift[0], shift[1]), first[0]


def parse_consistency(text: str) -> tuple[bool, ...]:
    """'off' / 'on' / 'on,off' -> (False,) / (True,) / (True, False)."""
    words = {"on": True, "off": False}
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or any(p not in words for p in parts):
        raise ValueError(f"--consistency expects on, off or on,off, got {text!r}")
    return tuple(dict.fromkeys(words[p] for p in parts))
