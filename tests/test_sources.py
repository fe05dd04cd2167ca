"""Every SOURCE kind resolves to the same restorer; --strength interpolates between L2 and GAN weights."""

import json

import numpy as np
import pytest
from unjpeg.baselines import precision
from unjpeg.baselines.models import build_model

from tests.helpers import randomised
from unjpeg import sources
from unjpeg.export import export_model
from unjpeg.sources import SourceError, load_restorer

IMAGES = np.random.default_rng(0).random((2, 40, 48, 3), dtype=np.float32)


def tiny_generator(seed: int, width: int = 8):
    """s2dnet at width 8 with random weights (its zero-initialised output conv would make it the identity)."""
    return randomised(build_model("s2dnet", width=width), seed)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    gan, l2 = tiny_generator(1), tiny_generator(2)
    run = root / "gan_run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "s2dnet"}))
    gan.save(run / "generator.keras")
    l2.save(run / "generator_l2.keras")
    gan.save(root / "gan.keras")
    return {"root": root, "run": run, "gan": gan, "l2": l2}


def expected(model, images=IMAGES):
    return np.clip(model(images).numpy(), 0, 1)


def test_keras_file_and_run_folder(models):
    for source in (models["root"] / "gan.keras", models["run"]):
        restorer = load_restorer(str(source))
        assert restorer.fixed_size is None
        np.testing.assert_allclose(restorer(IMAGES), expected(models["gan"]), atol=1e-5)


def test_shipped_name(models, monkeypatch):
    monkeypatch.setattr(sources, "SHIPPED_DIR", models["root"])
    np.testing.assert_allclose(load_restorer("shipped:gan")(IMAGES), expected(models["gan"]), atol=1e-5)
    with pytest.raises(SourceError, match=r"shipped:nope: no such shipped model \(shipped: gan\)"):
        load_restorer("shipped:nope")


@pytest.mark.parametrize(
    "image_format,name", [("savedmodel", "saved"), ("tflite", "g.tflite"), ("onnx", "g.onnx")]
)
def test_exported_formats(models, image_format, name):
    if image_format == "onnx":
        pytest.importorskip("onnxruntime", reason="ONNX sources need the [export] extra")
        pytest.importorskip("tf2onnx", reason="ONNX export needs the [export] extra")
    path = models["root"] / name
    export_model(models["gan"], image_format, path)
    restorer = load_restorer(str(path))
    assert restorer.fixed_size is None
    np.testing.assert_allclose(restorer(IMAGES), expected(models["gan"]), atol=1e-4)


def test_unknown_and_missing_sources(tmp_path):
    with pytest.raises(SourceError, match="unknown model source"):
        load_restorer(str(tmp_path / "model.pt"))
    with pytest.raises(SourceError, match="no such file"):
        load_restorer(str(tmp_path / "missing.keras"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    with pytest.raises(SourceError, match="no generator.keras yet"):
        load_restorer(str(tmp_path / "run"))
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="cannot load model"):
        load_restorer(str(tmp_path / "broken.keras"))


def test_strength_ends_are_l2_and_gan(models):
    run = str(models["run"])
    l2_out, gan_out = expected(models["l2"]), expected(models["gan"])
    assert np.abs(l2_out - gan_out).max() > 0.05  # the two generators really differ
    np.testing.assert_allclose(load_restorer(run, strength=0.0)(IMAGES), l2_out, atol=1e-5)
    np.testing.assert_allclose(load_restorer(run, strength=1.0)(IMAGES), gan_out, atol=1e-5)


def test_strength_half_blends_weights(models):
    blended = build_model("s2dnet", width=8)
    blended.set_weights(
        [
            0.5 * a + 0.5 * b
            for a, b in zip(models["l2"].get_weights(), models["gan"].get_weights(), strict=True)
        ]
    )
    out = load_restorer(str(models["run"]), strength=0.5)(IMAGES)
    np.testing.assert_allclose(out, expected(blended), atol=1e-5)


def test_strength_errors(models, tmp_path):
    with pytest.raises(SourceError, match=r"must be in \[0, 1\]"):
        load_restorer(str(models["run"]), strength=1.5)
    with pytest.raises(SourceError, match="needs a GAN run folder or shipped:gan"):
        load_restorer(str(models["root"] / "gan.keras"), strength=0.5)
    run = tmp_path / "mismatched"
    run.mkdir()
    (run / "config.json").write_text("{}")
    tiny_generator(1, width=8).save(run / "generator.keras")
    tiny_generator(2, width=4).save(run / "generator_l2.keras")
    with pytest.raises(SourceError, match="same architecture"):
        load_restorer(str(run), strength=0.5)


def test_bfloat16_keras_source_stays_close_to_float32(models, caplog):
    caplog.set_level("INFO", logger="unjpeg.sources")
    source = str(models["root"] / "gan.keras")
    restorer = load_restorer(source, precision="bfloat16")
    assert restorer.precision.policy == "mixed_bfloat16"
    assert f"{source}: precision: bfloat16 (asked for bfloat16)" in caplog.text
    deviation = np.abs(restorer(IMAGES) - expected(models["gan"])).max()
    assert 0 < deviation < 0.02  # bfloat16 rounding of the correction only; the input passes unrounded


def test_auto_precision_follows_the_cpu(models, monkeypatch):
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: "flags : sse2 avx2\n")
    restorer = load_restorer(str(models["root"] / "gan.keras"), precision="auto")
    assert restorer.precision.name == "float32" and "no bfloat16 units" in restorer.precision.reason


def test_precision_of_exported_sources(models):
    path = models["root"] / "p.tflite"
    export_model(models["gan"], "tflite", path)
    assert load_restorer(str(path), precision="auto").precision.name == "float32"
    with pytest.raises(SourceError, match="bfloat16 needs a Keras generator"):
        load_restorer(str(path), precision="bfloat16")
    with pytest.raises(SourceError, match="--precision must be one of"):
        load_restorer(str(path), precision="half")
