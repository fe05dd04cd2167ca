"""Tables, figures and the HTML page of `unjpeg compare`, from the metrics dict that gan.compare builds.

Best values are marked per column: higher PSNR, PSNR-Y, SSIM and PSNR-B; lower LPIPS and blur effect; sharpness
ratios closest to 1.0 (as sharp as the original). Values are compared as displayed, so ties are all marked.
Figures are PNGs drawn with matplotlib's Agg canvas (no pyplot, no display); matplotlib is imported only here,
inside the functions that draw.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np

JSON_NAME = "metrics.json"
SHARPNESS_KEYS = ("laplacian_var_ratio", "gradient_ratio", "hf_energy_ratio", "blur_effect")
FIGURES = {
    "crops.png": "Where the models differ most (lowest quality, nearest-neighbour ×3; PSNR of each crop)",
    "metrics_vs_quality.png": "Each metric against JPEG quality",
    "perception_distortion.png": "Perception–distortion: PSNR against LPIPS, one point per model and quality",
}
OUTPUTS = (JSON_NAME, "metrics.csv", "report.md", "index.html", *FIGURES)
ZOOM = 3

# (key, label, direction, digits): direction "max" / "min" / "one" (closest to 1.0 is best).
COLUMNS = (
    ("psnr", "PSNR", "max", 2),
    ("psnr_y", "PSNR-Y", "max", 2),
    ("ssim", "SSIM", "max", 4),
    ("psnr_b", "PSNR-B", "max", 2),
    ("lpips", "LPIPS", "min", 4),
    ("laplacian_var_ratio", "lap-var ratio", "one", 3),
    ("gradient_ratio", "gradient ratio", "one", 3),
    ("hf_energy_ratio", "HF ratio", "one", 3),
    ("blur_effect", "blur effect", "min", 3),
)
TERMINAL_COLUMNS = COLUMNS[:7]
HINT = {"max": "higher is better", "min": "lower is better", "one": "closest to 1 is best"}
LEGEND = "; ".join(f"{HINT[d]} for {', '.join(c[1] for c in COLUMNS if c[2] == d)}" for d in HINT)


def value(row: dict, key: str) -> float | None:
    """A row's mean `key`, looked up among the metrics or the sharpness ratios."""
    return row["sharpness"][key] if key in SHARPNESS_KEYS else row[key]


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


def _fmt(v: float | None, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if math.isfinite(v) else str(v)


def quality_tables(metrics: dict) -> dict[int, list[tuple[str, int, list[tuple[str, bool]]]]]:
    """{quality: [(model, n_images, [(formatted value, is best), …per COLUMNS]), …]}; nothing is marked best
    when a quality has a single row."""
    tables = {}
    for quality in metrics["qualities"]:
        rows = [r for r in metrics["rows"] if r["quality"] == quality]
        cells = [[] for _ in rows]
        for key, _, direction, digits in COLUMNS:
            values = [value(r, key) for r in rows]
            best = best_rows(values, direction, digits) if len(rows) > 1 else set()
            for i, v in enumerate(values):
                cells[i].append((_fmt(v, digits), i in best))
        tables[quality] = [(r["model"], r["n_images"], c) for r, c in zip(rows, cells, strict=True)]
    return tables


def format_table(metrics: dict) -> str:
    """Plain-text table for the terminal: model, quality, PSNR, PSNR-Y, SSIM, PSNR-B, LPIPS, lap-var and
    gradient ratios, one line per model × quality."""
    header = ["model", "quality", *(label for _, label, _, _ in TERMINAL_COLUMNS)]
    lines = [
        [r["model"], str(r["quality"]), *(_fmt(value(r, k), d) for k, _, _, d in TERMINAL_COLUMNS)]
        for r in metrics["rows"]
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def join(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([join(header), join(["-" * w for w in widths]), *map(join, lines)])


def _self_ensemble_note(metrics: dict) -> str:
    """The protocol sentence for a compare run with --self-ensemble, else ''."""
    if not metrics.get("self_ensemble"):
        return ""
    return " Every model restored with the 8-fold geometric self-ensemble (rotations and mirror images)."


def markdown_report(metrics: dict, figures: list[str]) -> str:
    """report.md: models, one table per quality (best in bold), figures, skipped images."""
    n_images = max((r["n_images"] for r in metrics["rows"]), default=0)
    lines = [
        "# unjpeg compare",
        "",
        f"Data: `{metrics['data']}`, {n_images} images; JPEG qualities {', '.join(map(str, metrics['qualities']))}.",
        "Protocol (KAIR / FBCNN / SwinIR): Pillow JPEG (4:2:0 for colour), full-resolution restoration, output "
        "rounded to 8 bits, metrics on the whole image against the original, averaged over the images."
        + _self_ensemble_note(metrics),
        "",
        "| model | source |",
        "|---|---|",
        *(f"| {name} | `{source}` |" for name, source in metrics["models"].items()),
    ]
    header = ["model", "images", *(label for _, label, _, _ in COLUMNS)]
    for quality, rows in quality_tables(metrics).items():
        lines += ["", f"## Quality {quality}", "", "| " + " | ".join(header) + " |"]
        lines.append("|---|" + "---:|" * (len(header) - 1))
        for model, n, cells in rows:
            marked = [f"**{text}**" if best else text for text, best in cells]
            lines.append(f"| {model} | {n} | " + " | ".join(marked) + " |")
    lines += ["", f"Best in **bold** (ties all): {LEGEND}."]
    if figures:
        lines += ["", "## Figures"]
        lines += [f"\n{FIGURES[name]}\n\n![{FIGURES[name]}]({name})" for name in figures]
    if metrics["skipped"]:
        lines += ["", "## Skipped", ""]
        lines += [f"- `{item['name']}`: {item['reason']}" for item in metrics["skipped"]]
    return "\n".join(lines) + "\n"


CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1240px; padding: 16px 24px; color: #222; }
h1 { font-size: 24px; margin: 8px 0; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; font-weight: 600; } td:first-child, th:first-child, table.models td, table.models th { text-align: left; }
td.best { font-weight: 700; background: #e3f4e1; } code { background: #f5f5f5; padding: 0 3px; }
figure { margin: 14px 0 24px; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 14px; margin-top: 4px; } .note { color: #555; font-size: 14px; }
"""


def html_report(metrics: dict, figures: list[str]) -> str:
    """index.html: self-contained page (inline CSS, relative image paths) with the tables and figures."""
    e = html.escape
    n_images = max((r["n_images"] for r in metrics["rows"]), default=0)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>unjpeg compare</title>"
        f"<style>{CSS}</style></head><body><h1>unjpeg compare</h1>",
        f"<p>Data <code>{e(metrics['data'])}</code>: {n_images} images; JPEG qualities "
        f"{', '.join(map(str, metrics['qualities']))}. Pillow JPEG (4:2:0 for colour), full-resolution "
        "restoration rounded to 8 bits, metrics on whole images, averaged."
        + _self_ensemble_note(metrics)
        + "</p>",
        "<table class='models'><tr><th>model</th><th>source</th></tr>",
        *(f"<tr><td>{e(n)}</td><td><code>{e(s)}</code></td></tr>" for n, s in metrics["models"].items()),
        "</table>",
    ]
    header = "".join(f"<th>{e(label)}</th>" for label in ["model", "images", *(c[1] for c in COLUMNS)])
    for quality, rows in quality_tables(metrics).items():
        parts += [f"<h2>Quality {quality}</h2><table><tr>{header}</tr>"]
        for model, n, cells in rows:
            tds = "".join(f"<td class='best'>{t}</td>" if best else f"<td>{t}</td>" for t, best in cells)
            parts.append(f"<tr><td>{e(model)}</td><td>{n}</td>{tds}</tr>")
        parts.append("</table>")
    parts.append(f"<p class='note'>Best per column highlighted (ties all): {e(LEGEND)}.</p>")
    for name in figures:
        parts.append(
            f"<figure><img src='{e(name)}' alt='{e(FIGURES[name])}'><figcaption>{e(FIGURES[name])}"
            "</figcaption></figure>"
        )
    if metrics["skipped"]:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li><code>{e(s['name'])}</code>: {e(s['reason'])}</li>" for s in metrics["skipped"]]
        parts.append("</ul>")
    return "\n".join([*parts, "</body></html>\n"])


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _styles(models: list[str]) -> dict[str, dict]:
    """Line style per model: colour, marker, and a width that shrinks down the list, so that models with
    equal scores (an untrained identity model and the JPEG row) show as stacked lines instead of hiding."""
    from matplotlib import colormaps

    palette, markers = colormaps["tab10"].colors, "osD^vP*X"
    return {
        m: {
            "color": "0.35" if m == "jpeg" else palette[i % len(palette)],
            "marker": markers[i % len(markers)],
            "linewidth": max(1.2, 6.0 - 2.2 * i),
            "markersize": max(4.0, 12.0 - 3.0 * i),
        }
        for i, m in enumerate(models)
    }


def plot_crops(crops: list[dict], path: Path) -> None:
    """Rows of crops (JPEG | each model | original), each enlarged ×3 with nearest neighbour and labelled
    with its PSNR against the original crop. `crops` are gan.compare's dicts with uint8 `panels`."""
    from unjpeg.losses.metrics import psnr

    columns = list(crops[0]["panels"])
    figure = _figure(2.9 * len(columns), 3.2 * len(crops) + 0.2)
    axes = figure.subplots(len(crops), len(columns), squeeze=False)
    for row, crop in zip(axes, crops, strict=True):
        original = crop["panels"]["original"]
        for ax, (label, image) in zip(row, crop["panels"].items(), strict=True):
            big = np.repeat(np.repeat(image, ZOOM, axis=0), ZOOM, axis=1)
            if big.shape[-1] == 1:
                ax.imshow(big[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(big, interpolation="nearest")
            score = "" if label == "original" else f"  {psnr(original, image):.2f} dB"
            ax.set_title(f"{label}{score}", fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
        where = f"{crop['name']}\nq{crop['quality']}, x {crop['left']}, y {crop['top']}, {crop['size']} px"
        row[0].set_ylabel(where, fontsize=10)
    figure.savefig(path)


def plot_vs_quality(metrics: dict, path: Path) -> None:
    """One panel per metric of COLUMNS: mean value against quality, one line per model."""
    models = list(dict.fromkeys(r["model"] for r in metrics["rows"]))
    styles = _styles(models)
    figure = _figure(12.0, 9.5)
    axes = figure.subplots(3, 3).ravel()
    for ax, (key, label, direction, _) in zip(axes, COLUMNS, strict=True):
        for model in models:
            rows = sorted((r for r in metrics["rows"] if r["model"] == model), key=lambda r: r["quality"])
            points = [(r["quality"], value(r, key)) for r in rows if value(r, key) is not None]
            if points:
                x, y = zip(*points, strict=True)
                ax.plot(x, y, label=model, **styles[model])
        if direction == "one":
            ax.axhline(1.0, color="0.6", linestyle="--", linewidth=1)
        ax.set_title(f"{label} ({HINT[direction]})", fontsize=11)
        ax.set_xticks(metrics["qualities"])
        ax.grid(alpha=0.3)
    figure.supxlabel("JPEG quality")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper center", ncols=min(len(models), 6), frameon=False)
    figure.savefig(path)


def plot_perception_distortion(metrics: dict, path: Path) -> None:
    """PSNR (x) against LPIPS (y): one point per model and quality, labelled "model qNN". Labels of points
    that lie close together are stacked upwards instead of printed over each other."""
    models = list(dict.fromkeys(r["model"] for r in metrics["rows"]))
    styles = _styles(models)
    rows = [r for r in metrics["rows"] if r["psnr"] is not None and r["lpips"] is not None]
    figure = _figure(8.0, 5.5)
    ax = figure.subplots()
    if rows:
        xs, ys = np.array([r["psnr"] for r in rows]), np.array([r["lpips"] for r in rows])
        span = (max(np.ptp(xs), 1e-9), max(np.ptp(ys), 1e-9))
    placed = []
    for model in models:
        points = sorted((r for r in rows if r["model"] == model), key=lambda r: r["quality"])
        if not points:
            continue
        x, y = [r["psnr"] for r in points], [r["lpips"] for r in points]
        ax.plot(x, y, label=model, alpha=0.9, **styles[model])
        for r in points:
            at = np.array([r["psnr"] / span[0], r["lpips"] / span[1]])
            crowd = sum(np.hypot(*(at - other)) < 0.05 for other in placed)
            placed.append(at)
            ax.annotate(f"{model} q{r['quality']}", (r["psnr"], r["lpips"]), textcoords="offset points",
                        xytext=(8, 4 + 11 * crowd), fontsize=8, color=styles[model]["color"])  # fmt: skip
    ax.set_xlabel("PSNR (dB), higher is better")
    ax.set_ylabel("LPIPS alex, lower is better")
    ax.margins(x=0.15, y=0.12)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    figure.savefig(path)


def write_report(metrics: dict, out: Path, crops: list[dict]) -> list[str]:
    """Draw the figures into `out`, then write report.md and index.html; returns the figure file names."""
    figures = []
    if crops:
        plot_crops(crops, out / "crops.png")
        figures.append("crops.png")
    plot_vs_quality(metrics, out / "metrics_vs_quality.png")
    plot_perception_distortion(metrics, out / "perception_distortion.png")
    figures += ["metrics_vs_quality.png", "perception_distortion.png"]
    (out / "report.md").write_text(markdown_report(metrics, figures))
    (out / "index.html").write_text(html_report(metrics, figures))
    return figures
