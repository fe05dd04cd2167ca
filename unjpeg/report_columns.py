"""What the columns of a `unjpeg compare` report are, how to read a row, and which value is best.

Best values are marked per column: higher PSNR, PSNR-Y, SSIM, PSNR-B and ΔPSNR; lower LPIPS, ΔLPIPS and blur
effect; sharpness ratios closest to 1.0 (as sharp as the original: above 1 is over-sharpened or noisy, below 1
blurred). The sharpness measures look inside the 8×8 JPEG blocks only (losses.sharpness), so a JPEG's block
edges do not make it look sharp. Values are compared as displayed, so ties are all marked.
"""

from __future__ import annotations

import math

SHARPNESS_KEYS = ("laplacian_var_ratio", "gradient_ratio", "hf_energy_ratio", "blur_effect")

# (key, label, direction, digits): direction "max" / "min" / "one" (closest to 1.0 is best).
COLUMNS = (
    ("psnr", "PSNR", "max", 2),
    ("delta_psnr", "ΔPSNR", "max", 2),
    ("psnr_y", "PSNR-Y", "max", 2),
    ("ssim", "SSIM", "max", 4),
    ("psnr_b", "PSNR-B", "max", 2),
    ("lpips", "LPIPS", "min", 4),
    ("delta_lpips", "ΔLPIPS", "min", 4),
    ("laplacian_var_ratio", "lap-var ratio", "one", 3),
    ("gradient_ratio", "gradient ratio", "one", 3),
    ("hf_energy_ratio", "HF ratio", "one", 3),
    ("blur_effect", "blur effect", "min", 3),
)
TERMINAL_KEYS = (
    "psnr",
    "delta_psnr",
    "worst_delta_psnr",
    "ssim",
    "lpips",
    "delta_lpips",
    "laplacian_var_ratio",
)
WORST = ("worst_delta_psnr", "worst ΔPSNR", "max", 2)
HINT = {"max": "higher is better", "min": "lower is better", "one": "closest to 1 is best"}
LEGEND = (
    "; ".join(f"{HINT[d]} for {', '.join(c[1] for c in COLUMNS if c[2] == d)}" for d in HINT)
    + ". Δ is the model's mean minus the JPEG's on the same images. The sharpness ratios (restored / original,"
    " measured inside the 8×8 JPEG blocks so that block edges do not count as detail) are best at 1.0:"
    " below is blurrier than the original, above is over-sharpened"
)


def value(row: dict, key: str) -> float | None:
    """A row's mean `key`, looked up among the metrics or the sharpness ratios."""
    return row["sharpness"][key] if key in SHARPNESS_KEYS else row.get(key)


def row_label(model: str, consistency: bool | None) -> str:
    """The name a row goes by in tables and figures: the model, '+consistency' when projected."""
    return f"{model}+consistency" if consistency else model


def label(row: dict) -> str:
    return row_label(row["model"], row.get("consistency"))


def condition_of(row: dict) -> tuple:
    """(quality, subsampling, double) of a row: the rows of one table share it."""
    return row["quality"], row.get("subsampling", "4:2:0"), row.get("double")


def condition_title(condition: tuple) -> str:
    """'Quality 10, 4:2:0' or 'Quality 30, 4:4:4, after q30 on a grid shifted by 3,5 px'."""
    quality, subsampling, double = condition
    title = f"Quality {quality}, {subsampling}"
    if double:
        shift, _, first = double.partition("@")
        title += f", after q{first} on a grid shifted by {shift} px"
    return title


def best_rows(values: list[float | None], direction: str, digits: int | None = None) -> set[int]:
    """Indices of the best values ("max", "min" or "one": closest to 1.0), None ignored, ties all kept.

    With `digits`, values are compared rounded as they are displayed.
    """
    if direction not in ("max", "min", "one"):
        raise ValueError(f"direction must be max, min or one, got {direction!r}")
    keys = {
        i: (abs(v - 1.0) if direction == "one" else -v if direction == "max" else v)
        for i, v in enumerate(round(v, digits) if digits is not None and v is not None else v for v in values)
        if v is not None and not math.isnan(v)
    }
    best = min(keys.values(), default=None)
    return {i for i, k in keys.items() if k == best}


def fmt(v: float | None, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if math.isfinite(v) else str(v)
