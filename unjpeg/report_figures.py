"""Figures of a `unjpeg compare` report, from the metrics dict that unjpeg.compare builds.

PNGs drawn with matplotlib's Agg canvas (no pyplot, no display); matplotlib is imported only inside the
functions that draw. A series is one row label (model, or model+consistency) under one subsampling and one
double-compression setting, followed across qualities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from unjpeg.losses.metrics import psnr
from unjpeg.report_columns import COLUMNS, HINT, label, value

ZOOM = 3
SUBSAMPLING_LINES = {"4:2:0": "-", "4:4:4": "--", "4:2:2": ":"}


def series(metrics: dict, include_jpeg: bool = True, double: bool | None = None) -> dict[str, list[dict]]:
    """{name: rows sorted by quality}. `double`: None for every row, False / True for the single / double
    compression rows only. The name adds the subsampling, and (for `double=None`) "single" or "double DY,DX",
    only when the report has more than one of them, so a plain report keeps plain model names."""
    rows = [
        r
        for r in metrics["rows"]
        if (include_jpeg or r["model"] != "jpeg") and (double is None or bool(r.get("double")) == double)
    ]
    several_subsamplings = len({r.get("subsampling") for r in metrics["rows"]}) > 1
    several_doubles = double is None and len({bool(r.get("double")) for r in metrics["rows"]}) > 1
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        name = label(row)
        if several_subsamplings:
            name += f" {row['subsampling']}"
        if several_doubles:
            name += f" double {metrics.get('double') or 'shifted'}" if row.get("double") else " single"
        grouped.setdefault(name, []).append(row)
    return {name: sorted(group, key=lambda r: r["quality"]) for name, group in grouped.items()}


def _figure(width: float, height: float):

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _styles(groups: dict[str, list[dict]]) -> dict[str, dict]:
    """Line style per series: a colour, marker and width per row label, a dash per subsampling, hollow markers
    for double compression. The width shrinks down the labels, so that rows with equal scores (an untrained
    identity model and the JPEG row) show as stacked lines instead of hiding."""

    palette, markers = colormaps["tab10"].colors, "osD^vP*X"
    labels = list(dict.fromkeys(label(rows[0]) for rows in groups.values()))
    styles = {}
    for name, rows in groups.items():
        i = labels.index(label(rows[0]))
        colour = "0.35" if rows[0]["model"] == "jpeg" else palette[i % len(palette)]
        styles[name] = {
            "color": colour,
            "marker": markers[i % len(markers)],
            "markerfacecolor": "none" if rows[0].get("double") else colour,
            "linestyle": SUBSAMPLING_LINES.get(rows[0].get("subsampling"), "-"),
            "linewidth": max(1.2, 6.0 - 2.2 * i),
            "markersize": max(4.0, 12.0 - 3.0 * i),
        }
    return styles


def plot_crops(crops: list[dict], path: Path) -> None:
    """Rows of crops (JPEG | each model | original), each enlarged ×3 with nearest neighbour and labelled
    with its PSNR against the original crop. `crops` are gan.compare's dicts with uint8 `panels`."""

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
    """One panel per metric of COLUMNS: mean value against quality, one line per series; the legend fills the
    last panel."""
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
    figure.supxlabel("JPEG quality")
    _side_legend(axes[len(COLUMNS) :], axes[0], len(groups))
    figure.savefig(path)


def _side_legend(spare, source, n_series: int) -> None:
    """The legend of `source`'s lines drawn in the first of the `spare` panels; all spare panels hidden."""
    for ax in spare:
        ax.set_axis_off()
    handles, labels = source.get_legend_handles_labels()
    if spare and handles:
        size = 10 if n_series <= 8 else 8 if n_series <= 16 else 6.5
        spare[0].legend(
            handles, labels, loc="center", frameon=False, fontsize=size, ncols=1 + (n_series > 16)
        )


def plot_deltas(metrics: dict, path: Path) -> None:
    """ΔPSNR and ΔLPIPS (each model minus the JPEG, same images and condition) against quality, one line per
    model and subsampling, with the zero line drawn: above it in ΔPSNR and below it in ΔLPIPS the model helps;
    on the other side it harms. Double compression, when measured, gets its own row of panels."""
    kinds = [False, True] if any(r.get("double") for r in metrics["rows"]) else [None]
    figure = _figure(15.0, 4.8 * len(kinds))
    axes = figure.subplots(len(kinds), 3, squeeze=False, width_ratios=[1, 1, 0.55])
    panels = (("delta_psnr", "ΔPSNR (dB), above 0 helps"), ("delta_lpips", "ΔLPIPS, below 0 helps"))
    for row_axes, double in zip(axes, kinds, strict=True):
        groups = series(metrics, include_jpeg=False, double=double)
        styles = _styles(groups)
        where = {None: "", False: ", single compression", True: f", double ({metrics.get('double')})"}[double]
        for ax, (key, title) in zip(row_axes, panels, strict=False):
            ax.axhline(0.0, color="black", linewidth=1.2, zorder=1)
            for name, rows in groups.items():
                points = [(r["quality"], r[key]) for r in rows if r.get(key) is not None]
                if points:
                    x, y = zip(*points, strict=True)
                    ax.plot(x, y, label=name, **{**styles[name], "linewidth": 2.0, "markersize": 6.0})
            ax.set_title(title + where, fontsize=11)
            ax.set_xticks(metrics["qualities"])
            ax.set_xlabel("JPEG quality")
            ax.grid(alpha=0.3)
        _side_legend(row_axes[2:], row_axes[0], len(groups))
    figure.savefig(path)


def plot_perception_distortion(metrics: dict, path: Path) -> None:
    """PSNR (x) against LPIPS (y): one point per model and quality, labelled "model qNN". Labels of points
    that lie close together are stacked upwards instead of printed over each other."""
    groups = series(metrics)
    styles = _styles(groups)
    rows = [r for r in metrics["rows"] if r["psnr"] is not None and r["lpips"] is not None]
    figure = _figure(8.0 + 3.0 * (len(groups) > 4), 5.5)
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
        for r in points if len(groups) <= 6 else []:  # more labels than that only hide the points
            at = np.array([r["psnr"] / span[0], r["lpips"] / span[1]])
            crowd = sum(np.hypot(*(at - other)) < 0.05 for other in placed)
            placed.append(at)
            ax.annotate(f"{model} q{r['quality']}", (r["psnr"], r["lpips"]), textcoords="offset points",
                        xytext=(8, 4 + 11 * crowd), fontsize=8, color=styles[model]["color"])  # fmt: skip
    ax.set_xlabel("PSNR (dB), higher is better")
    ax.set_ylabel("LPIPS alex, lower is better")
    ax.margins(x=0.15, y=0.12)
    ax.grid(alpha=0.3)
    ax.legend(
        frameon=False, fontsize=10 if len(groups) <= 8 else 7, loc="center left", bbox_to_anchor=(1.01, 0.5)
    )
    figure.savefig(path)
