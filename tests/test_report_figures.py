"""report_figures: series names, and every figure drawn for gray and colour crops and several conditions."""

import numpy as np
from PIL import Image

from unjpeg.report_figures import plot_crops, plot_deltas, plot_perception_distortion, plot_vs_quality, series


def _row(model, quality, subsampling, psnr, consistency=False):
    jpeg = model == "jpeg"
    return {"model": model, "quality": quality, "subsampling": subsampling, "double": None,
            "consistency": None if jpeg else consistency, "n_images": 1, "psnr": psnr, "psnr_y": psnr,
            "ssim": 0.9, "psnr_b": psnr, "lpips": 0.2, "delta_psnr": None if jpeg else psnr - 30,
            "delta_lpips": None if jpeg else -0.01, "worst_delta_psnr": None,
            "sharpness": dict.fromkeys(("laplacian_var_ratio", "gradient_ratio", "hf_energy_ratio",
                                        "blur_effect"), 0.8)}  # fmt: skip


METRICS = {
    "qualities": [10, 90],
    "rows": [_row(m, q, s, 30 + (m != "jpeg") * (1 if q == 10 else -2)) for q in (90, 10) for s in ("4:2:0", "4:4:4")
             for m in ("jpeg", "l2")] + [_row("l2", 10, "4:2:0", 31.5, consistency=True)],
}  # fmt: skip


def test_series():
    groups = series(METRICS)
    assert list(groups) == ["jpeg 4:2:0", "l2 4:2:0", "jpeg 4:4:4", "l2 4:4:4", "l2+consistency 4:2:0"]
    assert [r["quality"] for r in groups["l2 4:2:0"]] == [10, 90]  # sorted by quality
    assert "jpeg 4:2:0" not in series(METRICS, include_jpeg=False)
    plain = {"qualities": [10], "rows": [_row("l2", 10, "4:2:0", 31)]}
    assert list(series(plain)) == ["l2"]  # one subsampling: plain names
    shifted = [{**r, "double": f"3,5@{r['quality']}"} for r in plain["rows"] * 2]
    shifted[1]["quality"] = 90
    both = {"qualities": [10, 90], "double": "3,5", "rows": plain["rows"] + shifted}
    assert {name: len(rows) for name, rows in series(both).items()} == {"l2 single": 1, "l2 double 3,5": 2}
    assert list(series(both, double=True)) == ["l2"]  # one kind per panel: no suffix


def test_figures(tmp_path):
    plot_deltas(METRICS, tmp_path / "d.png")
    doubled = {
        **METRICS,
        "double": "3,5",
        "rows": METRICS["rows"] + [{**r, "double": "3,5@10"} for r in METRICS["rows"]],
    }
    plot_deltas(doubled, tmp_path / "d2.png")
    assert (
        Image.open(tmp_path / "d2.png").size[1] > 1.5 * Image.open(tmp_path / "d.png").size[1]
    )  # a row each
    plot_vs_quality(METRICS, tmp_path / "q.png")
    plot_perception_distortion(METRICS, tmp_path / "p.png")
    for name in ("d.png", "q.png", "p.png"):
        width, height = Image.open(tmp_path / name).size
        assert width > height > 100
    pixels = np.asarray(Image.open(tmp_path / "d.png").convert("L"))
    assert (pixels < 40).sum() > 1000  # the black zero lines and text


def test_plot_crops_gray_and_colour(tmp_path):
    rng = np.random.default_rng(0)
    crops = [
        {"name": name, "quality": 10, "top": 8, "left": 16, "size": 32, "score": 1.0,
         "panels": {k: rng.integers(0, 256, (32, 32, c), dtype=np.uint8) for k in ("jpeg", "m", "original")}}
        for name, c in (("rgb.png", 3), ("gray.png", 1))
    ]  # fmt: skip
    plot_crops(crops, tmp_path / "crops.png")
    width, height = Image.open(tmp_path / "crops.png").size
    assert width > height > 0
