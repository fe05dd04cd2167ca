"""Benchmark `unjpeg restore` on a 12 MP photo, and each export format on a 1024×1024 image.

    python scripts/bench_restore.py [--out bench_restore.json] [--models s2dnet,...] [--size 4000x3000]

Per model of `baselines.models.MODELS`, at its default width with untrained weights (speed and memory do
not depend on the weights), one subprocess runs the whole `unjpeg restore` path (JPEG decode, tiles of 512
with 32 px overlap, PNG encode) on a synthetic 4000×3000 JPEG and reports seconds, MP/s and peak resident
memory (ru_maxrss, which counts TensorFlow's start-up too). A model slower than 0.05 MP/s on 512×512 is not
run at 12 MP: its time is extrapolated. Then s2dnet is exported to every format, and each export's
file size and speed on 1024×1024 (median of 3 after a warm-up) are measured, ONNX Runtime against
TensorFlow. The CPU may be shared with other jobs: compare numbers from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

MIN_SPEED = 0.05  # MP/s on 512×512 below which the 12 MP run is extrapolated instead
FORMATS = {"keras": "g.keras", "savedmodel": "g_savedmodel", "tflite": "g.tflite", "onnx": "g.onnx"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_photo(path: Path, width: int, height: int) -> None:
    """A smooth gradient with texture and edges, saved as a quality-30 JPEG (so it has artifacts)."""
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(0)
    image = np.stack([x / width, y / height, 0.5 + 0.3 * np.sin(x / 37) * np.cos(y / 23)], axis=-1)
    image[(x // 200 + y // 200) % 2 == 0] *= 0.7  # hard edges
    image += 0.03 * rng.standard_normal((height, width, 1), dtype=np.float32)
    Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path, quality=30)


def worker_restore(name: str, size: tuple[int, int], folder: Path) -> dict:
    """Run in a subprocess: probe speed on 512×512, then the 12 MP restore through the CLI."""
    from baselines.models import build_model
    from gan.cli import main
    from gan.sources import load_restorer
    from gan.tiling import restore_image

    model = build_model(name)
    model.save(folder / f"{name}.keras")
    restorer = load_restorer(str(folder / f"{name}.keras"))
    probe = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)
    restore_image(restorer, probe, fixed_size=restorer.fixed_size)  # warm-up (traces the graph)
    start = time.perf_counter()
    restore_image(restorer, probe, fixed_size=restorer.fixed_size)
    probe_speed = 512 * 512 / 1e6 / (time.perf_counter() - start)
    megapixels = size[0] * size[1] / 1e6
    result = {
        "model": name,
        "parameters": model.count_params(),
        "probe_mp_per_s": probe_speed,
        "rss_before_mb": peak_rss_mb(),
    }
    if probe_speed < MIN_SPEED:
        return {**result, "extrapolated": True, "seconds": megapixels / probe_speed, "mp_per_s": probe_speed}
    photo = folder / "photo.jpg"
    if not photo.exists():
        synthetic_photo(photo, *size)
    start = time.perf_counter()
    args = [
        "restore",
        str(photo),
        "-o",
        str(folder / name),
        "--model",
        str(folder / f"{name}.keras"),
        "--force",
    ]
    code = main(args)  # the model is loaded again, as a user's run would
    seconds = time.perf_counter() - start
    return {
        **result,
        "extrapolated": False,
        "exit_code": code,
        "seconds": seconds,
        "mp_per_s": megapixels / seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def worker_formats(name: str, folder: Path) -> list[dict]:
    """Run in a subprocess: export `name` to every format; size and 1024×1024 speed of each."""
    from baselines.models import build_model
    from gan.export import export_checked
    from gan.sources import load_restorer

    model = build_model(name)
    rng = np.random.default_rng(0)
    # Perturbed weights: untrained s2dnet is the identity (zero-initialised output conv), whose parity
    # check would be trivially exact.
    model.set_weights(
        [w + 0.01 * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()]
    )
    image = rng.random((1, 1024, 1024, 3), dtype=np.float32)
    rows = []
    for image_format, file_name in FORMATS.items():
        path = folder / file_name
        try:
            diff = export_checked(model, image_format, path)
        except (ValueError, ImportError) as err:
            rows.append({"format": image_format, "error": str(err)})
            continue
        size = sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
        restorer = load_restorer(str(path))
        batch = image if restorer.fixed_size is None else image[:, :32, :32]
        restorer(batch)  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            restorer(batch)
            times.append(time.perf_counter() - start)
        runtime = {"onnx": "ONNX Runtime", "tflite": "TFLite (XNNPACK)"}.get(image_format, "TensorFlow")
        seconds = statistics.median(times)
        megapixels = batch.shape[1] * batch.shape[2] / 1e6
        rows.append(
            {
                "format": image_format,
                "runtime": runtime,
                "size_mb": size / 2**20,
                "seconds": seconds,
                "mp_per_s": megapixels / seconds,
                "max_abs_diff": diff,
            }
        )
    return rows


def run_worker(args: list[str]) -> dict | list:
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=3600, check=False
    )
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def format_tables(restore_rows: list[dict], format_rows: list[dict], size: str) -> str:
    lines = [f"restore {size} (tile 512, overlap 32), untrained weights at default width", ""]
    lines.append(f"{'model':<16}{'params':>11}{'seconds':>10}{'MP/s':>8}{'peak RSS MB':>13}  note")
    for row in restore_rows:
        if "error" in row:
            lines.append(f"{row.get('model', '?'):<16}  failed: {row['error']}")
            continue
        note = f"extrapolated from 512×512 ({row['probe_mp_per_s']:.3f} MP/s)" if row["extrapolated"] else ""
        rss = "-" if row["extrapolated"] else f"{row['peak_rss_mb']:.0f}"
        lines.append(
            f"{row['model']:<16}{row['parameters']:>11,}{row['seconds']:>10.1f}{row['mp_per_s']:>8.2f}{rss:>13}  {note}"
        )
    lines += ["", "export formats, 1024×1024 image (fixed-size models: one 32×32 window)", ""]
    lines.append(f"{'format':<12}{'runtime':<18}{'size MB':>9}{'seconds':>9}{'MP/s':>7}{'max |diff|':>12}")
    for row in format_rows:
        if "error" in row:
            lines.append(f"{row['format']:<12}failed: {row['error']}")
            continue
        lines.append(
            f"{row['format']:<12}{row['runtime']:<18}{row['size_mb']:>9.2f}{row['seconds']:>9.3f}"
            f"{row['mp_per_s']:>7.2f}{row['max_abs_diff']:>12.1e}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="bench_restore.json", help="JSON results (default bench_restore.json)"
    )
    parser.add_argument("--models", help="comma-separated names (default: every model in MODELS)")
    parser.add_argument("--size", default="4000x3000", help="photo size WxH (default 4000x3000, 12 MP)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    if args.worker:
        kind, name = args.worker
        folder = Path(args.folder)
        result = (
            worker_restore(name, (width, height), folder)
            if kind == "restore"
            else worker_formats(name, folder)
        )
        print(json.dumps(result))
        return

    from baselines.models import MODELS

    names = args.models.split(",") if args.models else list(MODELS)
    with tempfile.TemporaryDirectory() as folder:
        restore_rows = []
        for name in names:
            row = run_worker(["--worker", "restore", name, "--folder", folder, "--size", args.size])
            restore_rows.append({"model": name, **row})
            print(f"{name}: {row}", file=sys.stderr)
        exported = "s2dnet" if "s2dnet" in names else names[0]  # the default generator's architecture
        format_rows = run_worker(["--worker", "formats", exported, "--folder", folder])
        if isinstance(format_rows, dict):
            format_rows = [{"format": "all", **format_rows}]
    print(format_tables(restore_rows, format_rows, f"{width}×{height}"))
    Path(args.out).write_text(json.dumps({"restore": restore_rows, "formats": format_rows}, indent=2) + "\n")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
