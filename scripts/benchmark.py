"""The project's benchmark: restore speed and memory, compute rate, training speed, export runtimes.

    python scripts/benchmark.py [--models SOURCE ...] [--sizes 512,1024,12mp] [--repeats 2]
                                [--precisions float32,bfloat16] [--skip-train] [--skip-export] [--quick]
                                [--out benchmark.json]

SOURCE is what `unjpeg restore --model` takes (default: shipped:l2 shipped:gan), or `untrained:NAME`, a
builder of `baselines.models.MODELS` at its default width (speed and memory do not depend on the weights).
Sizes are N (N×N), WxH, or 12mp (4000×3000).

- Inference: one fresh subprocess per SOURCE, size and precision (float32 and bfloat16 side by side, as
  `unjpeg restore --precision`). A deterministic synthetic photo (gradients, texture, hard edges; a JPEG
  of quality 30, Pillow's default 4:2:0) goes through the steps of `unjpeg.files.restore_path`, the
  per-file job of `unjpeg restore` (JPEG decode, tiles of 512 px with 32 px of context, the projection
  onto the file's quantization intervals, PNG encode), each timed, after the model is loaded and traced.
  The photo is a JPEG so that the projection runs as on a user's photo (it leaves other files alone);
  its seconds and share of the restore are the consistency table (the issue's target: at most 10 % of
  a 12 MP restore). Seconds: best of --repeats (images over 4 MP: one run); MP/s: image megapixels / seconds;
  start+load: from the worker's first line to a warm model; RSS loaded: ru_maxrss after TensorFlow, the
  model and a warm-up call; peak RSS: ru_maxrss after the restores.
- Compute rate: in that subprocess, after peak RSS is read, FLOPs per pixel (`baselines.flops`,
  multiply-add = 2) × the pixels the model was fed (tile context included) / the seconds spent inside the
  model calls, against two ceilings 2n³ / t measured in the same process: a 4096×4096 float32 and a
  bfloat16 `tf.linalg.matmul` (best of 3); each row's fraction is of the ceiling of its own precision.
  Over 100 % is possible: the FLOP count is nominal, and oneDNN may run 3×3 convolutions with fewer
  operations.
- Training: seconds per 100 steps, L2 against GAN (G + PatchGAN D + LPIPS-alex + EMA), with the
  generator architecture of the first SOURCE, batch 16 of 64×64 patches, timed by
  `bench_train_speed.seconds_per_100` on one fixed random batch, in each precision that
  `bench_train_speed.l2_and_gan_seconds` accepts (its `precision` argument; float32 without it).
- Exports: the last SOURCE exported to each format by `unjpeg.export.export_checked` (parity-checked), then
  best of 3 on one 1024×1024 image: ONNX Runtime and TFLite against TensorFlow (.keras and SavedModel).

The CPU model and its bfloat16 flags are read from /proc/cpuinfo. The CPU may be shared with other jobs:
the load average is recorded at start and end; compare numbers from one run only.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_restore import keras_model, measure_exports, synthetic_photo  # noqa: E402
from benchmark_tables import report, table  # noqa: E402

DEFAULT_MODELS = ("shipped:l2", "shipped:gan")
WORKER = Path(__file__).resolve().parent / "bench_restore.py"
ONCE_ABOVE_MP = 4.0  # larger images are restored once: a 12 MP restore is long enough not to need a repeat
CONSISTENCY = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("precision", "precision", ""),
    ("restore s", "seconds", ".3g"),
    ("consistency s", "consistency", ".3g"),
    ("consistency/restore %", "consistency_percent", ".1f"),
]


@dataclass(frozen=True)
class Settings:
    sizes: tuple[str, ...] = ("512", "1024", "12mp")
    repeats: int = 2  # restores per SOURCE and size; the fastest is kept
    matmul: int = 4096  # side of the ceiling's square float32 matmul
    patch: int = 64  # training protocol of issues 2 and 4: batch 16 of 64×64 patches
    batch: int = 16
    train_warmup: int = 3  # untimed steps (tracing), then train_repeats × train_steps timed
    train_steps: int = 10
    train_repeats: int = 2
    export_side: int = 1024
    export_repeats: int = 3
    precisions: tuple[str, ...] = ("float32", "bfloat16")


QUICK = Settings(("128", "256"), 1, 1024, train_warmup=1, train_steps=3, train_repeats=1, export_side=256)


def parse_size(text: str) -> tuple[int, int]:
    """'512' → (512, 512), '4000x3000' → (4000, 3000), '12mp' → (4000, 3000): (width, height)."""
    text = text.strip().lower()
    if text == "12mp":
        return 4000, 3000
    width, _, height = text.partition("x")
    return int(width), int(height or width)


def machine() -> dict:
    """CPU model and its bfloat16-relevant flags, logical cores, RAM, library versions, date and load
    average of this machine."""
    from unjpeg.baselines.precision import BF16_FLAGS, cpu_flags, cpu_model, read_cpuinfo

    cpuinfo = read_cpuinfo()
    flags = cpu_flags(cpuinfo)
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    ram_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    versions = {}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "onnxruntime", "tf2onnx"):
        try:
            versions[package.removesuffix("-cpu")] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "cpu": cpu_model(cpuinfo),
        "cpu_flags": [flag for flag in (*BF16_FLAGS, "amx_tile", "avx512f", "avx512_vnni") if flag in flags],
        "cores": os.cpu_count(),
        "ram_gb": round(ram_kb / 2**20, 1),
        "python": sys.version.split()[0],
        **versions,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg()[0],
    }


def run_worker(source: str, image: Path, repeats: int, matmul: int, precision: str = "float32") -> dict:
    """`measure_restore` in a fresh process (bench_restore.py), so its peak RSS is this run's alone."""
    command = [sys.executable, str(WORKER), source, str(image), "--repeats", str(repeats)]
    command += ["--matmul", str(matmul), "--precision", precision]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit code {result.returncode}"}
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_inference(sources: list[str], settings: Settings, folder: Path) -> tuple[list, list]:
    """Rows of the inference and compute-rate sections, one per SOURCE and size."""
    inference, compute = [], []
    for size in settings.sizes:
        width, height = parse_size(size)
        image = folder / f"photo_{width}x{height}.jpg"
        synthetic_photo(image, width, height)
        repeats = 1 if width * height / 1e6 > ONCE_ABOVE_MP else settings.repeats
        for source in sources:
            for precision in settings.precisions:
                result = run_worker(source, image, repeats, settings.matmul, precision)
                seconds = result.get("inference", {}).get("seconds")
                done = result.get("error") or f"{seconds:.3g} s"
                print(f"{source} {width}×{height} {precision}: {done}", file=sys.stderr)
                row = {"model": source, "image": f"{width}×{height}", "width": width, "height": height}
                row["precision"] = precision
                phases = {}
                if "phases" in result:
                    share = 100 * result["phases"]["consistency"] / result["phases"]["total"]
                    phases = {"phases": result["phases"], "consistency_percent": share}
                inference.append({**row, **result.get("inference", result), **phases})
                compute.append({**row, **result.get("compute", result)})
    return inference, compute


def consistency_table(inference: list[dict]) -> str:
    """The printed table of the JPEG-consistency step (`project_onto_file`): its seconds in each restore
    and its share of that restore's seconds, in percent."""
    rows = [{**row, "consistency": row["phases"]["consistency"]} for row in inference if "phases" in row]
    title = "JPEG consistency: the projection's share of each restore (target: at most 10 % at 12 MP)"
    return table(title, CONSISTENCY, rows)


def architecture(model) -> tuple[str, dict]:
    """(builder name, keyword arguments) that rebuild `model`: its builder's defaults, else a width taken
    from its conv layers and, for s2dnet, the number of its residual blocks and whether it takes the
    tables as a second input, whichever gives the same weight shapes."""
    from unjpeg.baselines.models import build_model

    shapes = [tuple(w.shape) for w in model.weights]
    widths = sorted({layer.filters for layer in model.layers if hasattr(layer, "filters")})
    blocks = sum(layer.name.endswith("_conv1") for layer in model.layers)
    depths = [{}] + ([{"num_blocks": blocks}] if model.name == "s2dnet" else [])
    if model.name == "s2dnet" and len(model.inputs) == 2:
        depths = [{**depth, "conditioned": True} for depth in depths]
    for kwargs in [{**w, **d} for d in depths for w in [{}] + [{"width": width} for width in widths]]:
        if [tuple(w.shape) for w in build_model(model.name, **kwargs).weights] == shapes:
            return model.name, kwargs
    raise ValueError(f"{model.name}: cannot tell the builder arguments of this generator")


def bench_training(model, settings: Settings) -> list[dict]:
    """Seconds per 100 steps of L2 training and of GAN fine-tuning, same generator architecture and batch,
    one row per precision (a row with an error where bench_train_speed cannot train in it)."""
    import inspect

    from bench_train_speed import l2_and_gan_seconds

    name, kwargs = architecture(model)
    timing = (settings.train_warmup, settings.train_steps, settings.train_repeats)
    takes_precision = "precision" in inspect.signature(l2_and_gan_seconds).parameters
    rows = []
    for precision in settings.precisions:
        row = {"generator": name, "precision": precision, "model_kwargs": kwargs}
        row.update(patch=settings.patch, batch=settings.batch)
        if not takes_precision and precision != "float32":
            rows.append({**row, "error": "bench_train_speed.l2_and_gan_seconds has no precision argument"})
            continue
        extra = {"precision": precision} if takes_precision else {}
        l2, gan = l2_and_gan_seconds(
            name, settings.patch, settings.batch, *timing, model_kwargs=kwargs, **extra
        )
        rows.append({**row, "l2_s_per_100": l2, "gan_s_per_100": gan, "gan_over_l2": gan / l2})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="SOURCE")
    parser.add_argument("--sizes", help="comma-separated: N, WxH or 12mp (default 512,1024,12mp)")
    parser.add_argument("--repeats", type=int, help="restores per model and size, best kept (default 2)")
    parser.add_argument("--precisions", help="comma-separated, of float32, bfloat16 (default both)")
    parser.add_argument("--skip-train", action="store_true", help="no training section")
    parser.add_argument("--skip-export", action="store_true", help="no export section")
    parser.add_argument("--quick", action="store_true", help="sizes 128,256, one run, 3 train steps (tests)")
    parser.add_argument("--out", type=Path, default=Path("benchmark.json"), help="JSON results")
    args = parser.parse_args(argv)

    from unjpeg.sources import SourceError, keras_path

    settings = QUICK if args.quick else Settings()
    overrides = {"sizes": tuple(args.sizes.split(",")) if args.sizes else None, "repeats": args.repeats}
    overrides["precisions"] = tuple(args.precisions.split(",")) if args.precisions else None
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    try:  # fail now, not in each worker
        is_keras = {s: s.startswith("untrained:") or keras_path(s) is not None for s in args.models}
        if not (args.skip_train or is_keras[args.models[0]]):
            raise SourceError(f"{args.models[0]}: training needs a Keras generator first in --models")
        if not (args.skip_export or is_keras[args.models[-1]]):
            raise SourceError(f"{args.models[-1]}: exports need a Keras generator last in --models")
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = {"machine": machine(), "settings": dataclasses.asdict(settings), "models": args.models}
    with tempfile.TemporaryDirectory() as folder:
        result["inference"], result["compute"] = bench_inference(args.models, settings, Path(folder))
        result["training"] = None
        if not args.skip_train:
            result["training"] = bench_training(keras_model(args.models[0]), settings)
        result["exports"] = None
        if not args.skip_export:
            model, side = keras_model(args.models[-1]), settings.export_side
            result["exports"] = measure_exports(model, Path(folder), side, settings.export_repeats)
    result["machine"]["load_average_end"] = os.getloadavg()[0]
    print(report(result) + "\n\n" + consistency_table(result["inference"]))
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
