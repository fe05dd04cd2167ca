"""Figures of a `unjpeg compare` report, from the metrics dict that unjpeg.compare builds.

PNGs drawn with matplotlib's Agg canvas (no pyplot, no display); matplotlib is imported only inside the
functions that draw. A series is one row label (model, or model+consistency) under one subsampling and one
double-compression setting, followed across qualities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unjpeg.report_columns import COLUMNS, HINT, label, value

ZOOM = 3
SUBSAMPLING_LINES = {"4:2:0": "-", "4:4:4": "--", "4:2:2": ":"}


def series(metrics: dict, include_jpeg: bool = True) -> dict[str, list[dict]]:
    """{name: rows sorted by quality}; the name adds the subsampling and the double setting only when the
    report has more than one of them, so a plain report keeps plain model names."""
    rows = [r for r in metrics["rows"] if include_jpeg or r["model"] != "jpeg"]
    several = {key: len({r.get(key) for r in metrics["rows"]}) > 1 for key in ("subsampling", "double")}
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        name = label(row)
        if several["subsampling"]:
            name += f" {row['subsampling']}"
        if several["double"]:
            name += f" double {row['double']}" if row.get("double") else " single"
        grouped.setdefault(name, []).append(row)
    return {name: sorted(group, key=lambda r: r["quality"]) for name, group in grouped.items()}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _styles(groups: dict[str, list[dict]]) -> dict[str, dict]:
    """Line style per series: a colour per row label, a dash per subsampling, a marker, and a width that
    shrinks down the list, so that series with equal scores (an untrained identity model and the JPEG row)
    show as stacked lines instead of hiding."""
    from matplotlib import colormaps

    palette, markers = colormaps["tab10"].colors, "osD^vP*X"
    labels = list(dict.fromkeys(label(rows[0]) for rows in groups.values()))
    styles = {}
    for i, (name, rows) in enumerate(groups.items()):
        first = labels.index(label(rows[0]))
        styles[name] = {
            "color": "0.35" if rows[0]["model"] == "jpeg" else palette[first % len(palette)],
            "marker": markers[i % len(markers)],
            "linestyle": SUBSAMPLING_LINES.get(rows[0].get("subsampling"), "-"),
            "linewidth": max(1.2, 6.0 - 2.2 * i),
            "markersize": max(4.0, 12.0 - 3.0 * i),
        }
    return styles


def plot_crops(crops: list[dict], path: Path) -> None:
    """Rows of crops (JPEG | each model | original), each enlarged ×3 with nearest neighbour and labelled
    with its PSNR against the original crop. `crops` are gan.compare's dicts with uint8 `panels`."""
    from unjpeg.losses.metrics import psnr

    columns = list(crops[0]["panels"])
    figure = _figure(2.9 * len(columns), 3.2 * len(crops) + 0.2)
    axes = figure.subplots(len(crops), len(columns), squeeze=False)
    for row, crop in zip(axes, crops, strict=True):
        original = crop["panels"]["original"]
        for ax, (title, image) in zip(row, crop["panels"].items(), strict=True):
            big = np.repeat(np.repeat(image, ZOOM, axis=0), ZOOM, axis=1)
            if big.shape[-1] == 1:
                ax.imshow(big[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            else:
                ax.imshow(big, interpolation="nearest")
            score = "" if title == "original" else f"  {psnr(original, image):.2f} dB"
            ax.set_title(f"{title}{score}", fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
        where = f"{crop['name']}\nq{crop['quality']}, x {crop['left']}, y {crop['top']}, {crop['size']} px"
        row[0].set_ylabel(where, fontsize=10)
    figure.savefig(path)


def plot_vs_quality(metrics: dict, path: Path) -> None:
    """One panel per metric of COLUMNS: mean value against quality, one line per series."""
    groups = series(metrics)
    styles = _styles(groups)
    figure = _figure(13.0, 11.0)
    axes = figure.subplots(4, 3).ravel()
    for ax, (key, name, direction, _) in zip(axes, COLUMNS, strict=False):
        for series_name, rows in groups.items():
            points = [(r["quality"], value(r, key)) for r in rows if value(r, key) is not None]
            if points:
                x, y = zip(*points, strict=True)
                ax.plot(x, y, label=series_name, **styles[series_name])
        if direction == "one":
            ax.axhline(1.0, color="0.6", linestyle="--", linewidth=1)
        ax.set_title(f"{name} ({HINT[direction]})", fontsize=11)
        ax.set_xticks(metrics["qualities"])
        ax.grid(alpha=0.3)
    for ax in axes[len(COLUMNS) :]:
        ax.set_visible(False)
    figure.supxlabel("JPEG quality")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper center", ncols=min(len(groups), 6), frameon=False)
    figure.savefig(path)


def plot_deltas(metrics: dict, path: Path) -> None:
    """ΔPSNR and ΔLPIPS (each model minus the JPEG, same images and condition) against quality, one line per
    model and subsampling (and double setting), with the zero line drawn: above it in ΔPSNR and below it in
    ΔLPIPS the model helps; the other side, it harms."""
    groups = series(metrics, include_jpeg=False)
    styles = _styles(groups)
    figure = _figure(12.0, 4.8)
    axes = figure.subplots(1, 2)
    panels = (("delta_psnr", "ΔPSNR (dB), above 0 helps"), ("delta_lpips", "ΔLPIPS, below 0 helps"))
    for ax, (key, title) in zip(axes, panels, strict=True):
        ax.axhline(0.0, color="black", linewidth=1.2, zorder=1)
        for name, rows in groups.items():
            points = [(r["quality"], r[key]) for r in rows if r.get(key) is not None]
            if points:
                x, y = zip(*points, strict=True)
                ax.plot(x, y, label=name, **{**styles[name], "linewidth": 2.0, "markersize": 6.0})
        ax.set_title(title, fontsize=11)
        ax.set_xticks(metrics["qualities"])
        ax.set_xlabel("JPEG quality")
        ax.grid(alpha=0.3)
    if groups:
        axes[0].legend(frameon=False, fontsize=9)
    figure.savefig(path)


def plot_perception_distortion(metrics: dict, path: Path) -> None:
    """PSNR (x) against LPIPS (y): one point per model and quality, labelled "model qNN". Labels of points
    that lie close together are stacked upwards instead of printed over each other."""
    groups = series(metrics)
    styles = _styles(groups)
    rows = [r for r in metrics["rows"] if r["psnr"] is not None and r["lpips"] is not None]
    figure = _figure(8.0, 5.5)
    ax = figure.subplots()
    if rows:
        xs, ys = np.array([r["psnr"] for r in rows]), np.array([r["lpips"] for r in rows])
        span = (max(np.ptp(xs), 1e-9), max(np.ptp(ys), 1e-9))
    placed = []
    for model, group in groups.items():
        points = [r for r in group if r["psnr"] is not None and r["lpips"] is not None]
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
