"""Training sources: photo folders split by image, and CIFAR-10 python batches read from disk.

A source is a list of `(H, W, C)` uint8 arrays (C = 3; grayscale photos are replicated to 3 channels,
since every generator is 3-channel) plus their names, so patches can be sampled from memory.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unjpeg.data.images import ImageError, list_images, read_image, to_uint8

log = logging.getLogger(__name__)

CIFAR_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST_BATCH = "test_batch"


@dataclass
class ImageSet:
    """Decoded images kept in memory: `images[i]` is (H, W, 3) uint8, `names[i]` its file name."""

    images: list[np.ndarray]
    names: list[str]


def split_by_image(paths: list[Path], val_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """Split files (never patches) into train and validation, deterministically under `seed`.

    At least one image goes to validation when there are two or more images and `val_fraction > 0`.
    """
    paths = sorted(paths)
    if len(paths) < 2 or val_fraction <= 0:
        return paths, []
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = min(len(paths) - 1, max(1, round(val_fraction * len(paths))))
    val_idx = set(order[:n_val].tolist())
    train = [p for i, p in enumerate(paths) if i not in val_idx]
    val = [p for i, p in enumerate(paths) if i in val_idx]
    return train, val


def load_folder(paths: list[Path], min_side: int) -> ImageSet:
    """Decode `paths`, skipping (with a warning naming each) unreadable files and images smaller than `min_side`."""
    images, names = [], []
    for path in paths:
        try:
            pixels = read_image(path).pixels
        except ImageError as err:
            log.warning("skipped %s", err)
            continue
        if min(pixels.shape[:2]) < min_side:
            log.warning(
                "skipped %s: %d×%d is smaller than the %d px patch", path, *pixels.shape[1::-1], min_side
            )
            continue
        array = to_uint8(pixels)
        images.append(np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array)
        names.append(str(path))
    return ImageSet(images, names)


def folder_sets(root: str | Path, patch: int, val_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Train and validation `ImageSet`s from a folder of photos; stops if no usable image remains."""
    train_paths, val_paths = split_by_image(list_images(root), val_fraction, seed)
    train = load_folder(train_paths, patch)
    if not train.images:
        raise ValueError(f"{root}: no usable training image (all unreadable or smaller than {patch} px)")
    val = load_folder(val_paths, patch)
    if not val.images:
        log.warning("%s: no validation image; validating on the first training image", root)
        val = ImageSet(train.images[:1], train.names[:1])
    return train, val


def read_cifar_batch(path: Path) -> np.ndarray:
    """One CIFAR-10 python batch (pickled dict, b'data' 10000×3072 uint8, channel-major rows) as (N, 32, 32, 3)."""
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: CIFAR-10 batch not found") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a corrupt batch
        raise ValueError(
            f"{path}: corrupt or truncated CIFAR-10 batch ({type(err).__name__}: {err})"
        ) from None


def load_cifar10(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 train (50000, 32, 32, 3) and test (10000, 32, 32, 3) uint8 arrays from the python batches."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: CIFAR-10 folder not found (expected data_batch_1 … test_batch)")
    train = np.concatenate([read_cifar_batch(folder / name) for name in CIFAR_TRAIN_BATCHES])
    test = read_cifar_batch(folder / CIFAR_TEST_BATCH)
    return train, test


def cifar_sets(folder: str | Path, n_val: int = 256) -> tuple[ImageSet, ImageSet]:
    """CIFAR-10 as `ImageSet`s: the five train batches for training, `n_val` test images for validation."""
    train, test = load_cifar10(folder)
    return (
        ImageSet(list(train), [f"cifar10/train/{i}" for i in range(len(train))]),
        ImageSet(list(test[:n_val]), [f"cifar10/test/{i}" for i in range(min(n_val, len(test)))]),
    )


def training_sets(spec: str, patch: int, val_fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Resolve `--data`: a folder or file of photos, or `cifar10:PATH` for the python batches."""
    if spec.startswith("cifar10:"):
        if patch > 32:
            raise ValueError(f"CIFAR-10 images are 32×32: --patch must be at most 32, got {patch}")
        return cifar_sets(spec.removeprefix("cifar10:"))
    return folder_sets(spec, patch, val_fraction, seed)
