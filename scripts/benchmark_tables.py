"""The printed tables of `scripts/benchmark.py`: one aligned text table per section of its JSON result."""

from __future__ import annotations

from bench_restore import OVERLAP, TILE

PRECISIONS = ("float32", "bfloat16")

# Table columns: (header, JSON key, format spec ("" for text) [, scale]).
INFERENCE = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("precision", "precision", ""),
    ("runs", "runs", "d"),
    ("seconds", "seconds", ".3g"),
    ("MP/s", "mp_per_s", ".3g"),
    ("RSS loaded MB", "rss_loaded_mb", ".0f"),
    ("peak RSS MB", "peak_rss_mb", ".0f"),
]
PHASES = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("precision", "precision", ""),
    ("start+load s", "startup_load", ".3g"),
    ("decode s", "decode", ".3g"),
    ("model s", "model_calls", ".3g"),
    ("blending s", "blending", ".3g"),
    ("encode+write s", "encode_write", ".3g"),
    ("model/restore", "model_share", ".0%"),
    ("model/end-to-end", "model_share_end_to_end", ".0%"),
]
SIDE_BY_SIDE = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("float32 s", "float32", ".3g"),
    ("bfloat16 s", "bfloat16", ".3g"),
    ("bf16 speed-up", "speedup", ".2f"),
]
COMPUTE = [
    ("model", "model", ""),
    ("image", "image", ""),
    ("precision", "precision", ""),
    ("kFLOP/px", "flops_per_pixel", ".3g", 1e-3),
    ("px fed/px", "processed_per_image_pixel", ".2f"),
    ("GFLOP/s model", "achieved_gflops", ".1f"),
    ("GFLOP/s wall", "wall_gflops", ".1f"),
    ("f32 ceiling", "ceiling_float32_gflops", ".0f"),
    ("bf16 ceiling", "ceiling_bfloat16_gflops", ".0f"),
    ("model/own ceiling", "fraction_of_ceiling", ".1%"),
]
TRAINING = [
    ("generator", "generator", ""),
    ("precision", "precision", ""),
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


def phase_rows(inference: list[dict]) -> list[dict]:
    """The end-to-end split of each restore: start-up + model load, decode, model calls, blending,
    encode + write, and the model calls' share of the restore and of the whole run."""
    rows = []
    for row in inference:
        phases = row.get("phases")
        if not phases:
            continue
        restore = phases["total"]
        rows.append(
            {
                **{key: value for key, value in phases.items() if key != "model"},
                **{key: row[key] for key in ("model", "image", "precision")},
                "model_calls": phases["model"],
                "model_share": phases["model"] / restore,
                "model_share_end_to_end": phases["model"] / (restore + phases["startup_load"]),
            }
        )
    return rows


def side_by_side(rows: list[dict], key: str = "seconds") -> list[dict]:
    """One row per (model, image) with the float32 and bfloat16 values of `key` and float32 / bfloat16
    (the bfloat16 speed-up); a missing or failed precision gives None."""
    pairs: dict[tuple, dict] = {}
    for row in rows:
        if row.get("precision") in PRECISIONS and "error" not in row:
            pair = pairs.setdefault(
                (row["model"], row["image"]), {"model": row["model"], "image": row["image"]}
            )
            pair[row["precision"]] = row[key]
    for pair in pairs.values():
        f32, bf16 = pair.get("float32"), pair.get("bfloat16")
        pair["speedup"] = f32 / bf16 if f32 and bf16 else None
    return list(pairs.values())


def machine_line(m: dict) -> str:
    flags = ", ".join(m.get("cpu_flags", [])) or "none of amx_bf16, avx512_bf16"
    return (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; CPU flags: {flags}; "
        f"TensorFlow {m.get('tensorflow')}, ONNX Runtime {m.get('onnxruntime', '-')}; {m['date']}; "
        f"load average {m['load_average_start']:.1f} at start, {m['load_average_end']:.1f} at end"
    )


def report(result: dict) -> str:
    """The printed tables, one per section (the JSON holds the same numbers unrounded)."""
    m, s = result["machine"], result["settings"]
    inference = result["inference"]
    sections = [
        machine_line(m),
        table(f"inference: the unjpeg restore path, tile {TILE}, overlap {OVERLAP}", INFERENCE, inference),
        table(
            "float32 against bfloat16: restore seconds, one process each",
            SIDE_BY_SIDE,
            side_by_side(inference),
        ),
        table(
            "where a restore's time goes (seconds; start-up + load once per process)",
            PHASES,
            phase_rows(inference),
        ),
        table(
            f"compute rate: FLOPs of the model calls / their seconds, and of the image / wall seconds; "
            f"ceilings: {s['matmul']}² float32 and bfloat16 matmul, measured in each worker",
            COMPUTE,
            result["compute"],
        ),
    ]
    if result["training"]:
        first = result["training"][0]
        kwargs = first.get("model_kwargs") or "builder defaults"
        title = (
            f"training: the generator of {result['models'][0]} ({kwargs}), best of {s['train_repeats']} × "
            f"{s['train_steps']} steps after {s['train_warmup']}, scaled to 100"
        )
        sections.append(table(title, TRAINING, result["training"]))
        speedups = [
            pair
            for step, key in (("L2", "l2_s_per_100"), ("GAN", "gan_s_per_100"))
            for pair in side_by_side(
                [
                    {**row, "model": f"{step} step", "image": row.get("generator", "-")}
                    for row in result["training"]
                ],
                key,
            )
        ]
        sections.append(table("training, float32 against bfloat16 (s per 100 steps)", SIDE_BY_SIDE, speedups))
    if result["exports"] is not None:
        title = f"exports of {result['models'][-1]}: best of {s['export_repeats']}, one call, no tiling"
        sections.append(table(title, EXPORTS, result["exports"]))
    return "\n\n".join(sections)
