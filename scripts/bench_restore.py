"""Restore, compute-rate and export measurements for `scripts/benchmark.py` (run that; it explains them).

Run as a script, this is benchmark.py's inference worker, one fresh process per SOURCE and image so that
peak RSS belongs to that run alone; it prints one JSON line:

    python scripts/bench_restore.py SOURCE IMAGE [--repeats 2] [--matmul 4096] [--precision float32]

SOURCE is what `unjpeg restore --model` takes, or `untrained:NAME`: a builder of `baselines.models.MODELS`
at its default width (speed and memory do not depend on the weights).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # start-up and model load are timed from here (interpreter start excluded)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from unjpeg.tiling import OVERLAP, TILE  # noqa: E402 - `unjpeg restore` defaults

FORMATS = {"keras": "g.keras", "savedmodel": "g_savedmodel", "onnx": "g.onnx", "tflite": "g.tflite"}
RUNTIMES = {"keras": "TensorFlow", "savedmodel": "TensorFlow", "onnx": "ONNX Runtime", "tflite": "TFLite"}


def synthetic_photo(path: Path, width: int, height: int) -> None:
    """Smooth gradients, a sinusoidal texture, hard checker edges and fine noise, saved as JPEG quality 30
    (Pillow's default 4:2:0), so that a restore of it runs the consistency projection."""
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(0)
    image = np.stack([x / width, y / height, 0.5 + 0.3 * np.sin(x / 37) * np.cos(y / 23)], axis=-1)
    image[(x // 200 + y // 200) % 2 == 0] *= 0.7  # hard edges
    image += 0.03 * rng.standard_normal((height, width, 1), dtype=np.float32)
    Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path, quality=30)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def best_seconds(run, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def keras_model(source: str):
    """The Keras generator behind SOURCE (`untrained:NAME` builds one); None for .onnx, .tflite, SavedModel."""
    from unjpeg.sources import keras_path, load_keras_generator

    if source.startswith("untrained:"):
        from unjpeg.baselines.models import build_model

        return build_model(source.removeprefix("untrained:"))
    path = keras_path(source)
    return None if path is None else load_keras_generator(path)


class TimedModel:
    """Wraps a restorer's model function: counts the pixels fed to it and the seconds spent inside it.
    Arguments after the batch (a conditioned model's (B, 128) tables) are passed through unchanged."""

    def __init__(self, fn):
        self.fn, self.pixels, self.seconds = fn, 0, 0.0

    def __call__(self, batch: np.ndarray, *args) -> np.ndarray:
        start = time.perf_counter()
        output = self.fn(batch, *args)  # every restorer returns NumPy, so the work is done on return
        self.seconds += time.perf_counter() - start
        self.pixels += batch.shape[0] * batch.shape[1] * batch.shape[2]
        return output


def matmul_gflops(n: int, dtype: str = "float32", repeats: int = 3) -> float:
    """A ceiling: GFLOP/s of an n×n `tf.linalg.matmul` in `dtype` ("float32", "bfloat16"; 2n³ FLOPs),
    best of `repeats`."""
    import tensorflow as tf

    a, b = (tf.cast(tf.random.normal((n, n), seed=seed), dtype) for seed in (1, 2))
    tf.linalg.matmul(a, b).numpy()  # warm-up
    return 2 * n**3 / best_seconds(lambda: tf.linalg.matmul(a, b).numpy(), repeats) / 1e9


def restore_phases(
    restorer, timed: TimedModel, image: Path, target: Path, png_level: int | None = None
) -> dict:
    """One restore of `image` into `target` by the steps of `files.restore_to_image` and `write_restored`,
    each timed: seconds of decode (read, checks, and a conditioned restorer's tables from the header),
    model (inside the calls), blending (the rest of the tiling), consistency (`project_onto_file`, JPEG
    inputs only: 0 for any other file, which it leaves alone) and encode_write (8-bit rounding, PNG
    encode, atomic write). The five add up to total."""
    from unjpeg.data.consistency import project_onto_file
    from unjpeg.data.images import read_image, to_pil
    from unjpeg.data.jpeg_file import looks_like_jpeg

    from unjpeg.files import FileOptions, file_tables, refuse_unsupported, to_uint8_inplace, write_atomic
    from unjpeg.tiling import restore_image

    options = FileOptions() if png_level is None else FileOptions(png_compress_level=png_level)
    timed.pixels, timed.seconds = 0, 0.0
    start = time.perf_counter()
    loaded = read_image(image, keep_alpha=True, max_pixels=options.max_pixels)
    refuse_unsupported(image, loaded.bit_depth)
    tables = file_tables(image) if restorer.conditioned else None
    project = options.consistency and looks_like_jpeg(image)
    decoded = time.perf_counter()
    tiling = options.tiling
    restored = restore_image(
        restorer,
        loaded.pixels,
        tile=tiling.tile,
        overlap=tiling.overlap,
        fixed_size=restorer.fixed_size,
        self_ensemble=tiling.self_ensemble,
        tables=tables,
    )
    del loaded.pixels
    tiled = projected = time.perf_counter()
    if project:
        restored, _ = project_onto_file(restored, image)  # in place
        projected = time.perf_counter()
    pil = to_pil(to_uint8_inplace(restored), loaded.alpha)
    write_atomic(pil, target, "PNG", {"compress_level": options.png_compress_level})
    written = time.perf_counter()
    return {
        "decode": decoded - start,
        "model": timed.seconds,
        "blending": tiled - decoded - timed.seconds,
        "consistency": projected - tiled,
        "encode_write": written - projected,
        "total": written - start,
    }


def measure_restore(
    source: str,
    image: Path,
    repeats: int,
    matmul: int,
    precision: str = "float32",
    png_level: int | None = None,
) -> dict:
    """Restore `image` `repeats` times after a warm-up (`restore_phases`), read peak RSS, then measure
    the compute rate against both ceilings: {"inference": ..., "phases": ..., "compute": ...}."""
    from PIL import Image
    from unjpeg.baselines.flops import flops_per_pixel
    from unjpeg.baselines.precision import choose_precision

    from unjpeg.sources import Restorer, keras_restorer, load_restorer

    model = keras_model(source)
    if model is None:
        loaded = load_restorer(source, precision=precision)
    else:
        loaded = keras_restorer(model, source, choose_precision(precision))
    timed = TimedModel(loaded.fn)
    restorer = Restorer(loaded.name, timed, loaded.fixed_size, loaded.precision, loaded.conditioned)
    with Image.open(image) as opened:
        width, height = opened.size
    window = [restorer.fixed_size or min(side, TILE + 2 * OVERLAP) for side in (height, width)]
    restorer(np.zeros((1, *window, 3), np.float32))  # warm-up on the first window's shape: traces the graph
    startup_load = time.perf_counter() - STARTED
    rss_loaded = peak_rss_mb()
    target = image.with_suffix(".restored.png")
    runs = [restore_phases(restorer, timed, image, target, png_level) for _ in range(repeats)]
    phases = min(runs, key=lambda run: run["total"])
    processed = timed.pixels
    peak = peak_rss_mb()  # read before the FLOP count and the matmul, which allocate more
    pixels = width * height
    flops = flops_per_pixel(model) if model is not None else None
    seconds = phases["total"]
    return {
        "inference": {
            "precision": restorer.precision.name,
            "runs": repeats,
            "seconds": seconds,
            "mp_per_s": pixels / 1e6 / seconds,
            "peak_rss_mb": peak,
            "rss_loaded_mb": rss_loaded,
        },
        "phases": {"startup_load": startup_load, **phases},
        "compute": compute_rate(flops, processed, pixels, phases, restorer.precision.name, matmul),
    }


def compute_rate(flops, processed: int, pixels: int, phases: dict, precision: str, matmul: int) -> dict:
    """GFLOP/s of the model calls and of the whole restore, against both matmul ceilings measured now;
    the fraction is of the ceiling of `precision`. `flops` per pixel is None for non-Keras models."""
    ceilings = {dtype: matmul_gflops(matmul, dtype) for dtype in ("float32", "bfloat16")}
    ceiling = ceilings["bfloat16" if precision == "bfloat16" else "float32"]
    achieved = flops * processed / phases["model"] / 1e9 if flops else None
    return {
        "precision": precision,
        "flops_per_pixel": flops,
        "processed_per_image_pixel": processed / pixels,
        "model_seconds": phases["model"],
        "achieved_gflops": achieved,
        "wall_gflops": flops * pixels / phases["total"] / 1e9 if flops else None,
        "ceiling_gflops": ceiling,
        "ceiling_float32_gflops": ceilings["float32"],
        "ceiling_bfloat16_gflops": ceilings["bfloat16"],
        "matmul_n": matmul,
        "fraction_of_ceiling": achieved / ceiling if flops else None,
    }


def measure_exports(model, folder: Path, side: int, repeats: int) -> list[dict]:
    """Each format: export through `export_checked`, file size, best-of-`repeats` seconds on one side×side
    image (one call, no tiling; a fixed-size model gets one window) through the format's runtime."""
    from unjpeg.export import export_checked
    from unjpeg.sources import load_restorer

    image = np.random.default_rng(0).random((1, side, side, 3), np.float32)
    rows = []
    for export_format, file_name in FORMATS.items():
        path = folder / file_name
        row = {"format": export_format, "runtime": RUNTIMES[export_format]}
        try:
            diff = export_checked(model, export_format, path)
        except (ValueError, ImportError) as err:
            rows.append({**row, "error": str(err)})
            continue
        restorer = load_restorer(str(path))
        batch = image[:, : restorer.fixed_size, : restorer.fixed_size]  # all of it unless fixed-size
        restorer(batch)  # warm-up
        seconds = best_seconds(lambda r=restorer, b=batch: r(b), repeats)
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        rows.append(
            {
                **row,
                "image": f"{batch.shape[2]}×{batch.shape[1]}",
                "size_mb": sum(p.stat().st_size for p in files) / 2**20,
                "seconds": seconds,
                "mp_per_s": batch.shape[1] * batch.shape[2] / 1e6 / seconds,
                "max_abs_diff": diff,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark.py's inference worker: one JSON line")
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("image", type=Path, metavar="IMAGE")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--matmul", type=int, default=4096)
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="float32")
    parser.add_argument("--png-compress-level", type=int, help="default: that of `unjpeg restore`")
    args = parser.parse_args(argv)
    result = measure_restore(
        args.source, args.image, args.repeats, args.matmul, args.precision, args.png_compress_level
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
