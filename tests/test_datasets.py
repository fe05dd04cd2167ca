import pickle

import numpy as np
import pytest
from PIL import Image
from unjpeg.data.datasets import (
    cifar_sets,
    folder_sets,
    load_cifar10,
    read_cifar_batch,
    split_by_image,
    training_sets,
)


def write_cifar_batch(path, images):
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    with open(path, "wb") as handle:
        pickle.dump({b"data": rows, b"labels": [0] * len(images)}, handle)


@pytest.fixture
def cifar_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write_cifar_batch(tmp_path / name, rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    return tmp_path


def test_cifar_batch_rows_are_channel_major(tmp_path):
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 0, 1] = (10, 20, 30)
    write_cifar_batch(tmp_path / "b", image)
    rows = pickle.load(open(tmp_path / "b", "rb"), encoding="bytes")[b"data"]
    assert rows[0, 1] == 10 and rows[0, 1024 + 1] == 20 and rows[0, 2048 + 1] == 30
    np.testing.assert_array_equal(read_cifar_batch(tmp_path / "b"), image)


def test_load_cifar10_reads_train_and_test(cifar_folder):
    train, test = load_cifar10(cifar_folder)
    assert train.shape == (20, 32, 32, 3) and test.shape == (4, 32, 32, 3)
    train_set, val_set = cifar_sets(cifar_folder, n_val=3)
    assert len(train_set.images) == 20 and len(val_set.images) == 3


def test_truncated_cifar_batch_error_names_the_file(cifar_folder):
    path = cifar_folder / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match="data_batch_3"):
        load_cifar10(cifar_folder)


def test_cifar_rejects_patches_larger_than_32(cifar_folder):
    with pytest.raises(ValueError, match="at most 32"):
        training_sets(f"cifar10:{cifar_folder}", patch=64, val_fraction=0.1, seed=0)


def test_split_is_by_image_and_deterministic(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(10)]
    train, val = split_by_image(paths, 0.2, seed=3)
    assert len(val) == 2 and set(train).isdisjoint(val) and len(train) + len(val) == 10
    assert split_by_image(list(reversed(paths)), 0.2, seed=3) == (train, val)


def test_folder_skips_bad_and_small_images_by_name(tmp_path, caplog):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / f"ok{i}.png")
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"junk")
    train, val = folder_sets(tmp_path, patch=32, val_fraction=0.34, seed=0)
    assert len(train.images) + len(val.images) == 3
    assert all(image.shape[-1] == 3 for image in train.images)
    assert "broken.png" in caplog.text and "small.png" in caplog.text


def test_folder_with_only_bad_files_stops(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no usable training image"):
        folder_sets(tmp_path, patch=32, val_fraction=0.1, seed=0)
