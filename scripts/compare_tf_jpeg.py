"""Measure how TensorFlow's in-graph JPEG differs from Pillow's at the same quality.

Training uses Pillow (the evaluation protocol) inside the tf.data generator. `data.jpeg.jpeg_roundtrip_tf`
is the in-graph alternative; this script measures the difference per quality, for the accurate IDCT (the
default here) and for TensorFlow's default decoder (`--dct-method ''`). Usage: python scripts/compare_tf_jpeg.py IMAGE_FOLDER [--out tf_jpeg.json]
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from unjpeg.data.images import list_images, load_image, to_uint8
from unjpeg.data.jpeg import jpeg_roundtrip_tf, jpeg_roundtrip_uint8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--qualities", default="10,20,30,40,50")
    parser.add_argument("--max-images", type=int, default=10)
    parser.add_argument("--out", default="tf_jpeg.json")
    parser.add_argument(
        "--dct-method", default="INTEGER_ACCURATE", help="TensorFlow decoder IDCT ('' = default)"
    )
    args = parser.parse_args(argv)
    if args.max_images < 1:
        parser.error(f"--max-images must be at least 1, got {args.max_images}")
    rows = []
    for quality in [int(q) for q in args.qualities.split(",")]:
        identical, max_diff, mean_diff, n = 0, 0, [], 0
        for path in list_images(args.folder)[: args.max_images]:
            image = to_uint8(load_image(path))
            ours, theirs = (
                jpeg_roundtrip_uint8(image, quality).astype(int),
                jpeg_roundtrip_tf(image, quality, dct_method=args.dct_method).astype(int),
            )
            diff = np.abs(ours - theirs)
            identical += int(diff.max() == 0)
            max_diff = max(max_diff, int(diff.max()))
            mean_diff.append(float(diff.mean()))
            n += 1
        rows.append({"quality": quality, "images": n, "identical_images": identical,
                     "max_abs_diff": max_diff, "mean_abs_diff": float(np.mean(mean_diff))})  # fmt: skip
    print(f"{'quality':>7} {'images':>6} {'identical':>9} {'max |diff|':>10} {'mean |diff|':>11}")
    for row in rows:
        print(f"{row['quality']:>7} {row['images']:>6} {row['identical_images']:>9} "
              f"{row['max_abs_diff']:>10} {row['mean_abs_diff']:>11.4f}")  # fmt: skip
    with open(args.out, "w") as handle:
        json.dump({"rows": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
