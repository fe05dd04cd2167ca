"""Time LPIPS (losses/lpips.py) on 256×256 RGB images: forward, and forward + backward w.r.t. the distorted image.

    python scripts/bench_lpips.py [--nets alex vgg] [--batches 1 8] [--seconds 3] [--out lpips_bench.json]

Each net runs in its own spawned process, so "peak RSS" (resource.getrusage ru_maxrss) is that net's process
alone: Python + TensorFlow + weights + the largest batch. Both passes run inside tf.function, as in a train step.
Times are per image (batch time / batch size), median over repeats, on whatever CPU threads TF picks; other load
on the machine inflates them (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

SIDE = 256


def _median_ms(step, seconds: float, min_repeats: int = 3) -> float:
    """Median wall time of `step()` in ms, repeated for about `seconds` (after 2 warm-up calls)."""
    for _ in range(2):
        step()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < seconds:
        tick = time.perf_counter()
        step()
        times.append((time.perf_counter() - tick) * 1e3)
    return statistics.median(times)


def bench_net(net: str, batches: list[int], seconds: float) -> list[dict]:
    """Rows {net, batch, forward_ms_per_image, forward_backward_ms_per_image, peak_rss_mb} for one net."""
    import tensorflow as tf
    from unjpeg.losses.lpips import LPIPS  # imports Keras

    model = LPIPS(net)
    spec = tf.TensorSpec((None, SIDE, SIDE, 3), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def forward(reference, distorted):
        return model(reference, distorted)

    @tf.function(input_signature=[spec, spec])
    def forward_backward(reference, distorted):
        with tf.GradientTape() as tape:
            tape.watch(distorted)
            loss = tf.reduce_mean(model(reference, distorted))
        return loss, tape.gradient(loss, distorted)

    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        ref = tf.constant(rng.uniform(-1, 1, (batch, SIDE, SIDE, 3)), tf.float32)
        dist = tf.constant(np.clip(ref.numpy() + rng.normal(0, 0.1, ref.shape), -1, 1), tf.float32)
        fwd = _median_ms(lambda r=ref, d=dist: forward(r, d).numpy(), seconds)
        both = _median_ms(lambda r=ref, d=dist: forward_backward(r, d)[1].numpy(), seconds)
        rows.append(
            {
                "net": net,
                "batch": batch,
                "forward_ms_per_image": round(fwd / batch, 2),
                "forward_backward_ms_per_image": round(both / batch, 2),
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    for row in rows:
        row["peak_rss_mb"] = round(peak_mb, 1)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", default=["alex", "vgg"], choices=["alex", "vgg"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per measurement")
    parser.add_argument("--out", default="lpips_bench.json")
    args = parser.parse_args(argv)

    rows = []
    for net in args.nets:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            rows += pool.submit(bench_net, net, args.batches, args.seconds).result()

    header = f"{'net':<5} {'batch':>5} {'fwd ms/img':>11} {'fwd+bwd ms/img':>15} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['net']:<5} {r['batch']:>5} {r['forward_ms_per_image']:>11.2f} "
            f"{r['forward_backward_ms_per_image']:>15.2f} {r['peak_rss_mb']:>12.1f}"
        )
    result = {
        "image_side": SIDE,
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "machine": platform.machine(),
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
