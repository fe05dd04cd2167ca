"""Measure the JPEG-consistency projection (issue 17 item 4, `unjpeg.data.consistency`) on a few images.

For every image and condition (quality × chroma subsampling, files written by Pillow) it scores, against the
lossless original: the JPEG; an over-smoothed image (Gaussian blur of the JPEG); a model's restoration
(`unjpeg.tiling.restore_image` with the `unjpeg restore` defaults); and each of those projected with
chroma "delta" (the Euclidean projection) and "replace" (chroma as a decoder would upsample it). Scores:
RGB PSNR at 8 bits, PSNR of the JFIF Cb / Cr planes (chroma closeness), optionally LPIPS (alex), and how
far the 8-bit output's coefficients stray from the file's intervals (max |DCT / q - c| - 1/2, and the
share of coefficients more than 0.1 step outside, luma and chroma). It times the projection per megapixel beside the model's
restore of the same images, and once on a 12 MP file.

    python scripts/measure_consistency.py [--data DIR] [--count 6] [--qualities 10,50,85,95]
        [--subsampling 420,444] [--model shipped:l2] [--blur 1.5] [--lpips] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from unjpeg.data.consistency import project_image  # noqa: E402
from unjpeg.data.images import read_image, to_uint8  # noqa: E402
from unjpeg.data.jpeg_dct import forward_dct, rgb_to_ycbcr  # noqa: E402
from unjpeg.data.jpeg_file import read_jpeg  # noqa: E402
from unjpeg.data.jpeg_sampling import take_down  # noqa: E402
from unjpeg.losses.metrics import psnr  # noqa: E402

SUBSAMPLING = {"420": "4:2:0", "422": "4:2:2", "444": "4:4:4"}
MODES = ("delta", "replace")
OUTSIDE = 0.1  # a coefficient counts as outside its interval beyond this many quantization steps


def chroma_psnr(original: np.ndarray, test: np.ndarray) -> float:
    """PSNR of the JFIF Cb and Cr planes (float, unrounded) of two (H, W, 3) uint8 images."""
    error = (
        rgb_to_ycbcr(original.astype(np.float32))[..., 1:] - rgb_to_ycbcr(test.astype(np.float32))[..., 1:]
    )
    return float(10 * np.log10(255.0**2 / max(float(np.mean(error.astype(np.float64) ** 2)), 1e-12)))


def stray(image: np.ndarray, jpeg) -> dict:
    """How far (H, W, 3) uint8 `image` lies outside the intervals: luma and chroma max excess and share out.

    Only whole blocks count: a partial edge block is consistent with the padding the projection estimated,
    which the image does not keep.
    """
    planes = rgb_to_ycbcr(image.astype(np.float32))
    result = {}
    for name, indices in (("luma", [0]), ("chroma", [1, 2])):
        excess = []
        for index in indices:
            component = jpeg.components[index]
            ratio_v, ratio_h = jpeg.subsampling(index)
            low = take_down(planes[..., index], ratio_v, ratio_h)
            rows, cols = -(-jpeg.height // ratio_v) // 8, -(-jpeg.width // ratio_h) // 8
            offset = (
                forward_dct(low)[:rows, :cols] / component.quant_table - component.coefficients[:rows, :cols]
            )
            excess.append(np.abs(offset).ravel() - 0.5)
        excess = np.concatenate(excess)
        result[f"{name}_max_excess"] = float(excess.max())
        # Projected coefficients sit on the interval ends, so 8-bit rounding pushes many a hair outside.
        result[f"{name}_share_out"] = float(np.mean(excess > OUTSIDE))
    return result


def scores(original: np.ndarray, test: np.ndarray, lpips) -> dict:
    values = {"psnr": psnr(original, test), "chroma_psnr": chroma_psnr(original, test)}
    if lpips is not None:
        signed = [image[None].astype(np.float32) / 127.5 - 1 for image in (original, test)]
        values["lpips"] = float(np.asarray(lpips(*signed))[0])
    return values


def measure_image(original, path, restorer, blur, lpips, timing) -> dict:
    """All variants of one JPEG `path` of `original` (H, W, 3) uint8: {variant: scores}."""
    jpeg = read_jpeg(path)
    decoded = read_image(path).pixels
    bases = {"jpeg": decoded}
    with Image.open(path) as opened:
        bases["blur"] = np.asarray(opened.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255
    if restorer is not None:
        from unjpeg.tiling import restore_image

        start, cpu = time.perf_counter(), time.process_time()
        bases["model"] = restore_image(restorer, decoded, fixed_size=restorer.fixed_size)
        timing["model_seconds"] += time.perf_counter() - start
        timing["model_cpu_seconds"] += time.process_time() - cpu
    result = {}
    for name, base in bases.items():
        result[name] = scores(original, to_uint8(base), lpips)
        for mode in MODES:
            start, cpu = time.perf_counter(), time.process_time()
            projected = to_uint8(project_image(base, jpeg, chroma=mode))
            if mode == "delta":
                timing["projection_seconds"] += time.perf_counter() - start
                timing["projection_cpu_seconds"] += time.process_time() - cpu
            result[f"{name}+{mode}"] = {**scores(original, projected, lpips), **stray(projected, jpeg)}
    timing["megapixels"] += original.shape[0] * original.shape[1] / 1e6
    return result


def summarise(per_image: list[dict]) -> dict:
    """Mean of every score over images; for PSNR also the mean and worst gain over the JPEG."""
    summary = {}
    for variant in per_image[0]:
        keys = per_image[0][variant]
        row = {key: float(np.mean([image[variant][key] for image in per_image])) for key in keys}
        for key in ("luma_max_excess", "chroma_max_excess"):
            if key in row:
                row[key] = float(max(image[variant][key] for image in per_image))
        gains = [image[variant]["psnr"] - image["jpeg"]["psnr"] for image in per_image]
        row.update(delta_psnr=float(np.mean(gains)), worst_delta_psnr=float(min(gains)))
        summary[variant] = row
    return summary


def time_12mp(folder: Path) -> dict:
    """Seconds to read and to project (chroma "delta") a 4000×3000 4:2:0 quality-90 photo-like JPEG."""
    y, x = np.mgrid[0:3000, 0:4000].astype(np.float32)
    image = np.stack([x / 4000, y / 3000, 0.5 + 0.3 * np.sin(x / 37) * np.cos(y / 23)], axis=-1)
    image += 0.03 * np.random.default_rng(0).standard_normal((3000, 4000, 1), dtype=np.float32)
    path = folder / "12mp.jpg"
    Image.fromarray(to_uint8(image)).save(path, quality=90, subsampling="4:2:0")
    start = time.perf_counter()
    jpeg = read_jpeg(path)
    read_seconds = time.perf_counter() - start
    decoded = read_image(path).pixels
    start, cpu = time.perf_counter(), time.process_time()
    project_image(decoded, jpeg, in_place=True)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"read_seconds": read_seconds, "project_seconds": seconds, "project_cpu_seconds": cpu_seconds}


def run(args) -> dict:
    restorer = None
    if args.model != "none":
        from unjpeg.sources import load_restorer

        restorer = load_restorer(args.model)
    lpips = None
    if args.lpips:
        from unjpeg.compare_restore import load_lpips

        lpips = load_lpips()
    paths = sorted(p for p in Path(args.data).iterdir() if p.suffix.lower() == ".png")[: args.count]
    originals = {p.stem: to_uint8(read_image(p).pixels) for p in paths}
    timing = dict.fromkeys(
        ["model_seconds", "model_cpu_seconds", "projection_seconds", "projection_cpu_seconds"], 0.0
    )
    timing["megapixels"] = 0.0
    conditions = {}
    with tempfile.TemporaryDirectory() as folder:
        for quality in args.qualities:
            for code in args.subsampling:
                per_image = []
                for stem, original in originals.items():
                    path = Path(folder) / f"{stem}_q{quality}_{code}.jpg"
                    Image.fromarray(original).save(path, quality=quality, subsampling=SUBSAMPLING[code])
                    per_image.append(measure_image(original, path, restorer, args.blur, lpips, timing))
                conditions[f"q{quality} {SUBSAMPLING[code]}"] = summarise(per_image)
        big = time_12mp(Path(folder)) if args.big else None
    for kind in ("", "_cpu"):
        timing[f"projection{kind}_seconds_per_mp"] = (
            timing[f"projection{kind}_seconds"] / timing["megapixels"]
        )
        if restorer is not None:
            timing[f"model{kind}_seconds_per_mp"] = timing[f"model{kind}_seconds"] / timing["megapixels"]
            timing[f"projection_over_model{kind}"] = (
                timing[f"projection{kind}_seconds"] / timing[f"model{kind}_seconds"]
            )
    return {
        "images": [p.name for p in paths],
        "model": args.model,
        "blur_sigma": args.blur,
        "cpu": cpu_model(),
        "load_average": os.getloadavg(),
        "timing": timing,
        "timing_12mp": big,
        "conditions": conditions,
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def print_table(result: dict) -> None:
    variants = list(next(iter(result["conditions"].values())))
    lpips = "lpips" in next(iter(next(iter(result["conditions"].values())).values()))
    header = f"{'condition':<12} {'variant':<15} {'PSNR':>6} {'Δ':>6} {'worst Δ':>7} {'CbCr':>6}"
    header += f" {'LPIPS':>6}" if lpips else ""
    print(header + f" {'Y out':>6} {'Y max':>6} {'C out':>6} {'C max':>6}")
    for condition, rows in result["conditions"].items():
        for variant in variants:
            row = rows[variant]
            line = f"{condition:<12} {variant:<15} {row['psnr']:6.2f} {row['delta_psnr']:+6.2f}"
            line += f" {row['worst_delta_psnr']:+7.2f} {row['chroma_psnr']:6.2f}"
            line += f" {row['lpips']:6.3f}" if lpips else ""
            if "luma_share_out" in row:
                line += f" {row['luma_share_out']:6.1%} {row['luma_max_excess']:6.2f}"
                line += f" {row['chroma_share_out']:6.1%} {row['chroma_max_excess']:6.2f}"
            print(line)
    timing = result["timing"]
    print(
        f"\n{result['cpu']}, load average {result['load_average'][0]:.1f}; wall seconds (CPU seconds, all threads)"
    )
    for kind, label in (("projection", "projection (delta)"), ("model", result["model"])):
        if f"{kind}_seconds_per_mp" in timing:
            print(
                f"{label}: {timing[f'{kind}_seconds_per_mp']:.3f} s/MP ({timing[f'{kind}_cpu_seconds_per_mp']:.3f})"
            )
    if "projection_over_model" in timing:
        print(
            f"projection / model: {timing['projection_over_model']:.1%} ({timing['projection_over_model_cpu']:.1%})"
        )
    if result["timing_12mp"]:
        big = result["timing_12mp"]
        print(
            f"12 MP 4:2:0 q90: read {big['read_seconds']:.2f} s, project {big['project_seconds']:.2f} s",
            end="",
        )
        print(f" ({big['project_cpu_seconds']:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/work/shared/data/cbsd68", help="folder of lossless PNG originals")
    parser.add_argument("--count", type=int, default=6, help="first N images, sorted by name")
    parser.add_argument("--qualities", default="10,50,85,95")
    parser.add_argument("--subsampling", default="420,444", help="comma-separated: 420, 422, 444")
    parser.add_argument("--model", default="shipped:l2", help="restore SOURCE, or none to skip the model")
    parser.add_argument(
        "--blur", type=float, default=1.5, help="Gaussian sigma (px) of the over-smoothed image"
    )
    parser.add_argument("--lpips", action="store_true", help="also score LPIPS (alex)")
    parser.add_argument("--no-12mp", dest="big", action="store_false", help="skip the 12 MP timing")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    args.qualities = [int(q) for q in args.qualities.split(",")]
    args.subsampling = args.subsampling.split(",")
    result = run(args)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
