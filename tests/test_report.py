"""Report pages: one table per condition with the best value of each column marked, Markdown and HTML, and the terminal table."""

from unjpeg.report import condition_tables, format_table, html_report, markdown_report


def row(model, quality, psnr, lpips, lap, blur):
    return {
        "model": model,
        "quality": quality,
        "subsampling": "4:2:0",
        "double": None,
        "consistency": None if model == "jpeg" else False,
        "n_images": 2,
        "psnr": psnr,
        "delta_psnr": None if model == "jpeg" else psnr - 26.0,
        "worst_delta_psnr": None if model == "jpeg" else psnr - 26.5,
        "delta_lpips": None if model == "jpeg" else lpips - 0.30,
        "psnr_y": psnr + 1,
        "ssim": psnr / 40,
        "psnr_b": psnr - 1,
        "lpips": lpips,
        "sharpness": {
            "laplacian_var_ratio": lap,
            "gradient_ratio": lap,
            "hf_energy_ratio": lap,
            "blur_effect": blur,
        },
        "images": [],
    }


METRICS = {
    "data": "photos",
    "qualities": [10],
    "models": {"jpeg": "input", "l2": "shipped:l2", "gan": "shipped:gan"},
    "rows": [
        row("jpeg", 10, 26.0, 0.30, 1.40, 0.30),  # blocking: sharper than the original
        row("l2", 10, 28.0, 0.25, 0.60, 0.40),  # best PSNR, blurry
        row("gan", 10, 27.0, 0.15, 0.95, 0.35),  # best LPIPS, ratios nearest 1
    ],
    "skipped": [{"name": "bad.png", "reason": "corrupt image"}],
}


def test_condition_tables_mark_per_column():
    ((title, rows),) = condition_tables(METRICS).items()
    assert title == "Quality 10, 4:2:0"
    marked = {label: [m for m, _, cells in rows if cells[i][1]] for i, label in enumerate(
        ["psnr", "dpsnr", "psnr_y", "ssim", "psnr_b", "lpips", "dlpips", "lap", "grad", "hf", "blur"])}  # fmt: skip
    assert marked["psnr"] == marked["dpsnr"] == marked["ssim"] == marked["psnr_b"] == ["l2"]
    assert marked["lpips"] == marked["dlpips"] == marked["lap"] == marked["hf"] == ["gan"]
    assert marked["blur"] == ["jpeg"]


def test_single_row_is_not_marked():
    metrics = {**METRICS, "rows": METRICS["rows"][:1]}
    (rows,) = condition_tables(metrics).values()
    assert not any(best for _, _, cells in rows for _, best in cells)


def test_markdown_and_html():
    markdown = markdown_report(METRICS, ["metrics_vs_quality.png"])
    l2_line = next(line for line in markdown.splitlines() if line.startswith("| l2 | 2 |"))
    assert "**28.00**" in l2_line and "**0.2500**" not in l2_line
    assert "| gan | 2 |" in markdown and "**0.1500**" in markdown
    assert "## Skipped" in markdown and "bad.png" in markdown
    assert "](metrics_vs_quality.png)" in markdown
    page = html_report(METRICS, ["metrics_vs_quality.png"])
    assert page.count("class='best'") == 11 and "src='metrics_vs_quality.png'" in page
    for text in (markdown, page.replace("&#x27;", "'")):
        assert (
            "closest to 1 is best for lap-var ratio, gradient ratio, HF ratio" in text
        )  # the highlight rule
        assert "inside the 8×8 JPEG blocks" in text


def test_tables_per_condition():
    shifted = [{**r, "subsampling": "4:4:4", "double": "3,5@30"} for r in METRICS["rows"]]
    tables = condition_tables({**METRICS, "rows": METRICS["rows"] + shifted})
    assert list(tables) == ["Quality 10, 4:2:0", "Quality 10, 4:4:4, after q30 on a grid shifted by 3,5 px"]
    consistent = {**METRICS["rows"][1], "consistency": True}
    (rows,) = condition_tables({**METRICS, "rows": [*METRICS["rows"], consistent]}).values()
    assert [r[0] for r in rows] == ["jpeg", "l2", "gan", "l2+consistency"]


def test_format_table():
    lines = format_table(METRICS).splitlines()
    assert lines[0].split() == ["model", "quality", "chroma", "double", "PSNR", "ΔPSNR", "worst", "ΔPSNR",
                                "SSIM", "LPIPS", "ΔLPIPS", "lap-var", "ratio"]  # fmt: skip
    assert len(lines) == 2 + 3 and lines[3].split()[:7] == ["l2", "10", "4:2:0", "-", "28.00", "2.00", "1.50"]
    assert lines[2].split()[5] == "–"  # the JPEG row has no gain over itself
    assert len({len(line) for line in lines}) == 1  # aligned


def test_protocol_notes():
    plain = markdown_report(METRICS, [])
    assert "grid shifts" not in plain and "model+consistency" not in plain and "self-ensemble" not in plain
    metrics = {**METRICS, "double": "3,5@10", "consistency": [True, False], "self_ensemble": True}
    for text in (markdown_report(metrics, []), html_report(metrics, [])):
        assert "grid shifts" in text and "model+consistency" in text and "self-ensemble" in text
