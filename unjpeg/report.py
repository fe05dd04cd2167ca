"""Tables and pages of `unjpeg compare` (report.md, index.html), from the metrics dict that unjpeg.compare
builds; the figures come from unjpeg.report_figures, the columns and the highlight rule from
unjpeg.report_columns: one table per condition (quality, subsampling, double compression), the best value of
each column marked, and what "best" means said under the tables.
"""

from __future__ import annotations

import html
from pathlib import Path

from unjpeg.report_columns import (
    COLUMNS,
    LEGEND,
    SHARPNESS_KEYS,
    TERMINAL_KEYS,
    WORST,
    best_rows,
    condition_of,
    condition_title,
    fmt,
    label,
    value,
)
from unjpeg.report_figures import plot_crops, plot_deltas, plot_perception_distortion, plot_vs_quality

__all__ = [
    "SHARPNESS_KEYS",
    "best_rows",
    "condition_tables",
    "format_table",
    "html_report",
    "markdown_report",
]

JSON_NAME = "metrics.json"
FIGURES = {
    "delta_vs_quality.png": "Gain over plain JPEG against quality: ΔPSNR and ΔLPIPS, one line per model and "
    "subsampling; above the zero line in ΔPSNR and below it in ΔLPIPS the model helps, on the other side it harms",
    "crops.png": "Where the models differ most (first condition, nearest-neighbour ×3; PSNR of each crop)",
    "metrics_vs_quality.png": "Each metric against JPEG quality",
    "perception_distortion.png": "Perception–distortion: PSNR against LPIPS, one point per model and quality",
}
OUTPUTS = (JSON_NAME, "metrics.csv", "report.md", "index.html", *FIGURES)


def condition_tables(metrics: dict) -> dict[str, list[tuple[str, int, list[tuple[str, bool]]]]]:
    """{condition title: [(row label, n_images, [(formatted value, is best), …per COLUMNS]), …]}, in the order
    of the rows; nothing is marked best when a condition has a single row."""
    groups: dict[tuple, list[dict]] = {}
    for row in metrics["rows"]:
        groups.setdefault(condition_of(row), []).append(row)
    tables = {}
    for condition, rows in groups.items():
        cells = [[] for _ in rows]
        for key, _, direction, digits in COLUMNS:
            values = [value(r, key) for r in rows]
            best = best_rows(values, direction, digits) if len(rows) > 1 else set()
            for i, v in enumerate(values):
                cells[i].append((fmt(v, digits), i in best))
        tables[condition_title(condition)] = [
            (label(r), r["n_images"], c) for r, c in zip(rows, cells, strict=True)
        ]
    return tables


def format_table(metrics: dict) -> str:
    """Plain-text table for the terminal, one line per row: model, quality, subsampling, double, PSNR, ΔPSNR,
    worst ΔPSNR, SSIM, LPIPS, ΔLPIPS and the lap-var ratio."""
    columns = {c[0]: c for c in (*COLUMNS, WORST)}
    shown = [columns[key] for key in TERMINAL_KEYS]
    header = ["model", "quality", "chroma", "double", *(name for _, name, _, _ in shown)]
    lines = [
        [label(r), str(r["quality"]), r.get("subsampling", "4:2:0"), r.get("double") or "-",
         *(fmt(value(r, k), d) for k, _, _, d in shown)]
        for r in metrics["rows"]
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def join(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([join(header), join(["-" * w for w in widths]), *map(join, lines)])


def _notes(metrics: dict) -> str:
    """The protocol sentences for --self-ensemble, --double and --consistency on, or ''."""
    notes = ""
    if metrics.get("self_ensemble"):
        notes += (
            " Every model restored with the 8-fold geometric self-ensemble (rotations and mirror images)."
        )
    if metrics.get("double"):
        notes += (
            " Double compression: JPEG, then the top and left cropped so that the 8×8 grid shifts, then JPEG"
            " again; scored against the original cropped the same way."
        )
    if True in metrics.get("consistency", []):
        notes += (
            " Rows named model+consistency are projected onto the JPEG file's quantization intervals after"
            " restoration."
        )
    return notes


def markdown_report(metrics: dict, figures: list[str]) -> str:
    """report.md: models, one table per quality (best in bold), figures, skipped images."""
    n_images = max((r["n_images"] for r in metrics["rows"]), default=0)
    lines = [
        "# unjpeg compare",
        "",
        f"Data: `{metrics['data']}`, {n_images} images; JPEG qualities {', '.join(map(str, metrics['qualities']))}.",
        "Protocol (KAIR / FBCNN / SwinIR): Pillow JPEG under each condition below (its chroma subsampling; "
        "grayscale stays single-channel), full-resolution restoration, output rounded to 8 bits, metrics on the "
        "whole image against the original, averaged over the images." + _notes(metrics),
        "",
        "| model | source |",
        "|---|---|",
        *(f"| {name} | `{source}` |" for name, source in metrics["models"].items()),
    ]
    header = ["model", "images", *(c[1] for c in COLUMNS)]
    for title, rows in condition_tables(metrics).items():
        lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |"]
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
        f"{', '.join(map(str, metrics['qualities']))}. Pillow JPEG under each condition below, full-resolution "
        "restoration rounded to 8 bits, metrics on whole images, averaged." + e(_notes(metrics)) + "</p>",
        "<table class='models'><tr><th>model</th><th>source</th></tr>",
        *(f"<tr><td>{e(n)}</td><td><code>{e(s)}</code></td></tr>" for n, s in metrics["models"].items()),
        "</table>",
    ]
    header = "".join(f"<th>{e(name)}</th>" for name in ["model", "images", *(c[1] for c in COLUMNS)])
    for title, rows in condition_tables(metrics).items():
        parts += [f"<h2>{e(title)}</h2><table><tr>{header}</tr>"]
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


def write_report(metrics: dict, out: Path, crops: list[dict]) -> list[str]:
    """Draw the figures into `out`, then write report.md and index.html; returns the figure file names."""
    plot_deltas(metrics, out / "delta_vs_quality.png")
    figures = ["delta_vs_quality.png"]
    if crops:
        plot_crops(crops, out / "crops.png")
        figures.append("crops.png")
    plot_vs_quality(metrics, out / "metrics_vs_quality.png")
    plot_perception_distortion(metrics, out / "perception_distortion.png")
    figures += ["metrics_vs_quality.png", "perception_distortion.png"]
    (out / "report.md").write_text(markdown_report(metrics, figures))
    (out / "index.html").write_text(html_report(metrics, figures))
    return figures
