"""The printed tables of `scripts/benchmark.py`: one aligned text table per section of its JSON result."""

from __future__ import annotations

from bench_restore import OVERLAP, TILE

# Table columns: (header, JSON key, format spec ("" for text) [, scale]).
INFERENCE = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("runs", "runs", "d"),
    ("seconds", "seconds", ".3g"),
    ("MP/s", "mp_per_s", ".3g"),
    ("RSS loaded MB", "rss_loaded_mb", ".0f"),
    ("peak RSS MB", "peak_rss_mb", ".0f"),
]
COMPUTE = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("kFLOP/px", "flops_per_pixel", ".3g", 1e-3),
    ("px fed/px", "processed_per_image_pixel", ".2f"),
    ("GFLOP/s model", "achieved_gflops", ".1f"),
    ("GFLOP/s wall", "wall_gflops", ".1f"),
    ("ceiling GFLOP/s", "ceiling_gflops", ".0f"),
    ("model/ceiling", "fraction_of_ceiling", ".1%"),
]
TRAINING = [
    ("generator", "generator", ""),
    ("patch", "patch", "d"),
    ("batch", "batch", "d"),
    ("L2 s/100 steps", "l2_s_per_100", ".1f"),
    ("GAN s/100 steps", "gan_s_per_100", ".1f"),
    ("GAN/L2", "gan_over_l2", ".2f"),
]
EXPORTS = [
    ("format", "format", ""),
    ("runtime", "runtime", ""),
    ("image", "image", ""),
    ("size MB", "size_mb", ".2f"),
    ("seconds", "seconds", ".3g"),
    ("MP/s", "mp_per_s", ".3g"),
    ("max |diff|", "max_abs_diff", ".1e"),
]


def table(title: str, columns: list[tuple], rows: list[dict]) -> str:
    """Aligned text, one line per row; a column is (header, key, format spec[, scale]), text (spec "")
    aligned left, numbers right, None shown as "-". A row with an "error" shows its first two columns and
    the error."""
    lines, failures = [[header for header, *_ in columns]], {}
    for row in rows:
        if "error" in row:
            failures[len(lines)] = f"failed: {row['error']}"
        cells = []
        for _, key, spec, *scale in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value * scale[0] if scale else value, spec))
        lines.append(cells)
    widths = [max(len(cells[i]) for cells in lines) for i in range(len(columns))]
    text = [title, ""]
    for number, cells in enumerate(lines):
        padded = [
            cell.rjust(width) if spec else cell.ljust(width)
            for cell, width, (_, _, spec, *_) in zip(cells, widths, columns, strict=True)
        ]
        if number in failures:
            padded = padded[:2] + [failures[number]]
        text.append("  ".join(padded).rstrip())
    return "\n".join(text)


def report(result: dict) -> str:
    """The printed tables, one per section (the JSON holds the same numbers unrounded)."""
    m, s = result["machine"], result["settings"]
    sections = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; TensorFlow {m.get('tensorflow')}, "
        f"ONNX Runtime {m.get('onnxruntime', '-')}; {m['date']}; load average {m['load_average_start']:.1f} "
        f"at start, {m['load_average_end']:.1f} at end",
        table(
            f"inference: the unjpeg restore path, tile {TILE}, overlap {OVERLAP}",
            INFERENCE,
            result["inference"],
        ),
        table(
            f"compute rate: FLOPs of the model calls / their seconds, and of the image / wall seconds; "
            f"ceiling: {s['matmul']}² float32 matmul",
            COMPUTE,
            result["compute"],
        ),
    ]
    if result["training"] is not None:
        kwargs = result["training"]["model_kwargs"] or "builder defaults"
        title = (
            f"training: the generator of {result['models'][0]} ({kwargs}), best of {s['train_repeats']} × "
            f"{s['train_steps']} steps after {s['train_warmup']}, scaled to 100"
        )
        sections.append(table(title, TRAINING, [result["training"]]))
    if result["exports"] is not None:
        title = f"exports of {result['models'][-1]}: best of {s['export_repeats']}, one call, no tiling"
        sections.append(table(title, EXPORTS, result["exports"]))
    return "\n\n".join(sections)
