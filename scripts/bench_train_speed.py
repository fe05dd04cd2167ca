"""Seconds per 100 training steps: GAN fine-tuning (G + PatchGAN D + LPIPS-alex + EMA) vs L2 training.

    python scripts/bench_train_speed.py --out bench_train_speed.json
    python scripts/bench_train_speed.py --models s2dnet --patch 64 --batch 16 --steps 20

Both runs use `fit` on one fixed random batch repeated (so the JPEG patch pipeline, which runs in parallel
with training through `prefetch`, is not timed), the builders' default widths, and the defaults of
`baselines.train.TrainConfig` and `gan.train_gan.GanConfig` (D width 32, 3 stages, RaGAN), computing in
`--precision` (float32 by default; bfloat16 is fast only on CPUs with AMX or AVX-512 BF16). After
`--warmup` untimed steps (tracing), `--steps` steps are timed `--repeats` times; the fastest timing is
scaled to 100. The numbers are only comparable within one run on one machine; a busy CPU inflates them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_MODELS = ("s2dnet", "autoencoder", "blockcnn")


def seconds_per_100(model, dataset, warmup: int, steps: int, repeats: int) -> float:
    """The fastest of `repeats` timings of `steps` steps, scaled to 100: the least disturbed by other load."""
    model.fit(dataset, steps_per_epoch=warmup, epochs=1, verbose=0, shuffle=False)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        timings.append((time.perf_counter() - start) / steps * 100)
    return min(timings)


def l2_and_gan_seconds(
    name: str,
    patch: int,
    batch: int,
    warmup: int,
    steps: int,
    repeats: int,
    model_kwargs: dict | None = None,
    precision: str = "float32",
) -> tuple[float, float]:
    """Unrounded seconds per 100 steps of L2 training and of GAN fine-tuning of generator `name`, computing
    in `precision` ("float32", "bfloat16"; see `baselines.precision`)."""
    import numpy as np
    import tensorflow as tf
    from unjpeg.baselines.precision import POLICIES, dtype_policy
    from unjpeg.baselines.train import TrainConfig, compiled_model
    from unjpeg.data.jpeg import TABLE_SIZE
    from unjpeg.gan.train_gan import GanConfig, build_gan

    kwargs = model_kwargs or {}
    rng = np.random.default_rng(0)
    clean = rng.random((batch, patch, patch, 3), dtype=np.float32)
    degraded = np.clip(clean + 0.05 * rng.standard_normal(clean.shape, dtype=np.float32), 0, 1)
    inputs = degraded
    if kwargs.get("conditioned"):  # also takes the file's tables: (B, 128), normalised steps in [0.125, 1]
        inputs = (degraded, rng.uniform(0.125, 1.0, (batch, 2 * TABLE_SIZE)).astype(np.float32))
    dataset = tf.data.Dataset.from_tensors((inputs, clean)).repeat()
    settings = dict(model=name, data="", out="", model_kwargs=kwargs, precision=precision)
    l2_model = compiled_model(TrainConfig(**settings))
    with dtype_policy(POLICIES[precision]):
        gan_model = build_gan(GanConfig(**settings))
    l2, gan = (seconds_per_100(m, dataset, warmup, steps, repeats) for m in (l2_model, gan_model))
    return l2, gan


def bench(name: str, patch: int, batch: int, warmup: int, steps: int, repeats: int, precision: str) -> dict:
    l2, gan = l2_and_gan_seconds(name, patch, batch, warmup, steps, repeats, precision=precision)
    return {
        "model": name,
        "precision": precision,
        "l2_s_per_100": round(l2, 1),
        "gan_s_per_100": round(gan, 1),
        "ratio": round(gan / l2, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", help=f"generators (default: those of {DEFAULT_MODELS} in MODELS)"
    )
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps, scaled to 100")
    parser.add_argument("--repeats", type=int, default=2, help="timings per cell; the fastest is kept")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--out", type=Path, default=Path("bench_train_speed.json"), help="JSON results")
    args = parser.parse_args(argv)

    from unjpeg.baselines.models import MODELS

    names = args.models or [name for name in DEFAULT_MODELS if name in MODELS]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    timing = (args.warmup, args.steps, args.repeats)
    rows = [bench(name, args.patch, args.batch, *timing, args.precision) for name in names]
    print(
        f"patch {args.patch}, batch {args.batch}, best of {args.repeats} × {args.steps} timed steps "
        f"after {args.warmup}, {os.cpu_count()} CPUs, {args.precision}"
    )
    print(f"{'model':<14}{'L2 s/100':>10}{'GAN s/100':>11}{'GAN/L2':>8}")
    for row in rows:
        print(f"{row['model']:<14}{row['l2_s_per_100']:>10}{row['gan_s_per_100']:>11}{row['ratio']:>8}")
    settings = {
        key: getattr(args, key) for key in ("patch", "batch", "warmup", "steps", "repeats", "precision")
    }
    args.out.write_text(json.dumps({**settings, "cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
