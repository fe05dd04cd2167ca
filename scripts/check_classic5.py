"""Check `losses.metrics` against the plain-JPEG scores of the JPEG artifact-removal literature.

Grayscale (default): Classic5 (5 gray 512x512 BMPs, cszn/DnCNN @ e93b278 `testsets/classic5`), each compressed with
Pillow at quality q and kept single-channel; the mean PSNR / SSIM / PSNR-B over the images is compared with the
table published in the FBCNN README (Jiang et al., ICCV 2021), rounded there to 2 / 3 / 2 decimals.

Colour (`--color`): CBSD68 (68 RGB 481x321 PNGs, cszn/FFDNet @ e787f46 `testsets/CBSD68`), Pillow JPEG with its
default 4:2:0 chroma subsampling, compared with the rows of /work/shared/data/README.md (2 / 4 / 2 decimals).

A row passes when |ours - published| <= half a unit of the published last decimal + 0.01 dB (PSNR, PSNR-B) or
+ 0.001 (SSIM). Exit status 1 if any row fails.

Run from the repository root: `python -m scripts.check_classic5 [--color] [--data DIR] [--out FILE.json]`.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from unjpeg.data.jpeg import jpeg_roundtrip_uint8
from unjpeg.losses.metrics import psnr, psnr_b, ssim

# FBCNN README, "Results on Classic5" (grayscale), row "JPEG": PSNR / SSIM / PSNR-B per quality factor.
CLASSIC5_PUBLISHED = {
    10: (27.82, 0.760, 25.21),
    20: (30.12, 0.834, 27.50),
    30: (31.48, 0.867, 28.94),
    40: (32.43, 0.885, 29.92),
}
# /work/shared/data/README.md, CBSD68 row "plain JPEG, Pillow 4:2:0".
CBSD68_PUBLISHED = {
    10: (25.83, 0.7359, 24.14),
    20: (28.15, 0.8217, 26.33),
    30: (29.47, 0.8599, 27.65),
    40: (30.41, 0.8820, 28.59),
}
DB_TOLERANCE = 0.01
SSIM_TOLERANCE = 0.001
METRICS = {"psnr": psnr, "ssim": ssim, "psnr_b": psnr_b}  # in the published tables' column order


def load_images(folder: Path, color: bool) -> dict[str, np.ndarray]:
    """All BMP / PNG / TIFF images of `folder` as (H, W, C) uint8, C = 3 if `color` else 1, by file name."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".bmp", ".png", ".tif", ".tiff"})
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    images = {}
    for path in paths:
        array = np.asarray(Image.open(path).convert("RGB" if color else "L"))
        images[path.name] = array if color else array[:, :, None]
    return images


def evaluate(images: dict[str, np.ndarray], quality: int) -> dict[str, dict[str, float]]:
    """PSNR, SSIM and PSNR-B of each image against its JPEG at `quality`."""
    scores = {}
    for name, image in images.items():
        compressed = jpeg_roundtrip_uint8(image, quality)
        scores[name] = {metric: score(image, compressed) for metric, score in METRICS.items()}
    return scores


def tolerance(metric: str, ssim_decimals: int) -> float:
    """Half a unit of the published last decimal, plus 0.01 dB (PSNR, PSNR-B) or 0.001 (SSIM)."""
    if metric == "ssim":
        return 0.5 * 10.0**-ssim_decimals + SSIM_TOLERANCE
    return 0.5 * 10.0**-2 + DB_TOLERANCE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--color", action="store_true", help="check the colour protocol on CBSD68")
    parser.add_argument("--data", type=Path, help="image folder (default: the shared Classic5 or CBSD68)")
    parser.add_argument("--out", type=Path, help="write the table and per-image scores as JSON here")
    parser.add_argument("--qualities", type=int, nargs="+", default=[10, 20, 30, 40])
    args = parser.parse_args(argv)

    dataset = "cbsd68" if args.color else "classic5"
    table = CBSD68_PUBLISHED if args.color else CLASSIC5_PUBLISHED
    ssim_decimals = 4 if args.color else 3  # as printed in the two source tables
    folder = args.data or Path("/work/shared/data") / dataset
    images = load_images(folder, args.color)

    print(f"{dataset} ({len(images)} images, {'RGB 4:2:0' if args.color else 'gray'}), ours vs published")
    print(
        f"{'QF':>3} | {'PSNR':>8} {'pub':>6} {'diff':>7} | {'SSIM':>7} {'pub':>6} {'diff':>7} | "
        f"{'PSNR-B':>8} {'pub':>6} {'diff':>7} | ok"
    )
    rows, all_ok = [], True
    for quality in args.qualities:
        scores = evaluate(images, quality)
        ours = {m: float(np.mean([s[m] for s in scores.values()])) for m in METRICS}
        row = {"quality": quality, "ours": ours, "per_image": scores}
        cells = [f"{quality:>3}"]
        if quality in table:
            published = dict(zip(METRICS, table[quality], strict=True))
            diff = {m: ours[m] - published[m] for m in METRICS}
            ok = all(abs(diff[m]) <= tolerance(m, ssim_decimals) for m in METRICS)
            row.update(published=published, diff=diff, ok=ok)
            all_ok &= ok
            for m in METRICS:
                places = ssim_decimals if m == "ssim" else 2
                cells.append(f"{ours[m]:8.4f} {published[m]:6.{places}f} {diff[m]:+7.4f}")
            cells.append("yes" if ok else "NO")
        else:
            cells.extend(f"{ours[m]:8.4f} {'-':>6} {'-':>7}" for m in METRICS)
        print(" | ".join(cells))
        rows.append(row)

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "dataset": dataset,
            "folder": str(folder),
            "jpeg": "Pillow, default subsampling",
            "rows": rows,
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    print("all rows match" if all_ok else "MISMATCH against the published table")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
