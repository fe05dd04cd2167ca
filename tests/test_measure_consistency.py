"""scripts/measure_consistency.py on two tiny originals and a tiny s2dnet: every variant scored and timed."""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import saved_tiny_s2dnet
from tests.jpeg_helpers import pattern, save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import measure_consistency  # noqa: E402


def test_run_scores_every_variant(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for seed in (0, 1):
        Image.fromarray(pattern(40, 56, seed=seed)).save(data / f"{seed}.png")
    model = saved_tiny_s2dnet(tmp_path)[1]
    out = tmp_path / "m.json"
    argv = [
        "--data",
        str(data),
        "--qualities",
        "30",
        "--subsampling",
        "420,444",
        "--model",
        str(model),
        "--blur",
        "3",
    ]
    assert measure_consistency.main([*argv, "--no-12mp", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert list(result["conditions"]) == ["q30 4:2:0", "q30 4:4:4"]
    rows = result["conditions"]["q30 4:2:0"]
    expected = {f"{base}{mode}" for base in ("jpeg", "blur", "model") for mode in ("", "+delta", "+replace")}
    assert set(rows) == expected
    assert rows["jpeg"]["delta_psnr"] == 0
    # The projection brings the blurred image a long way back, and leaves the JPEG itself nearly alone.
    assert rows["blur+delta"]["psnr"] > rows["blur"]["psnr"] + 1
    assert abs(rows["jpeg+delta"]["psnr"] - rows["jpeg"]["psnr"]) < 0.1
    assert result["timing"]["projection_seconds_per_mp"] > 0 and result["timing"]["projection_over_model"] > 0
    assert "blur+delta" in capsys.readouterr().out


def test_stray_tells_consistent_from_not(tmp_path):
    image = pattern(40, 56)
    jpeg_path = save(tmp_path, "a.jpg", image, quality=50, subsampling="4:2:0")
    jpeg = measure_consistency.read_jpeg(jpeg_path)
    with Image.open(jpeg_path) as opened:
        decoded = np.asarray(opened)
    near = measure_consistency.stray(decoded, jpeg)
    far = measure_consistency.stray(np.random.default_rng(0).integers(0, 256, image.shape, np.uint8), jpeg)
    assert near["luma_max_excess"] < 0.5 and near["luma_share_out"] < 0.05
    assert far["luma_max_excess"] > 2 and far["chroma_share_out"] > 0.05
    assert measure_consistency.chroma_psnr(image, image) > 100
