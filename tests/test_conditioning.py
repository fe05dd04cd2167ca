import keras
import numpy as np
import pytest
from unjpeg.baselines.conditioning import TABLES, is_conditioned
from unjpeg.baselines.precision import dtype_policy
from unjpeg.baselines.s2dnet import build_s2dnet
from unjpeg.data.datasets import ImageSet
from unjpeg.data.jpeg import REAL_QUALITY_RANGE
from unjpeg.data.patches import PatchConfig, patch_dataset

FILM_LAYER_PREFIXES = ("film_", "tables")


def randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in model.get_weights()])


def copy_by_name(source, target):
    """Load weights by layer name and skip what the target has and the source has not."""
    layers = {layer.name: layer for layer in target.layers}
    for layer in source.layers:
        if layer.weights:
            layers[layer.name].set_weights(layer.get_weights())


def inputs(batch=2, height=24, width=40, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.random((batch, height, width, 3)).astype(np.float32)
    tables = rng.uniform(0.125, 1.0, (batch, TABLES)).astype(np.float32)
    return images, tables


def test_conditioned_net_loaded_from_a_plain_one_computes_exactly_the_same():
    plain = build_s2dnet(width=8, num_blocks=2)
    randomise(plain)  # conv_out too, so the nets are far from the identity
    conditioned = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    copy_by_name(plain, conditioned)
    images, tables = inputs()
    expected = plain(images).numpy()
    assert np.abs(expected - images).mean() > 0.01
    for given in (tables, np.zeros_like(tables)):
        np.testing.assert_array_equal(conditioned([images, given]).numpy(), expected)


def test_only_the_film_layers_are_new_and_the_plain_builder_is_unchanged():
    plain = build_s2dnet(width=8, num_blocks=2)
    conditioned = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    plain_layers = {layer.name: [w.shape for w in layer.weights] for layer in plain.layers}
    new = [layer.name for layer in conditioned.layers if layer.name not in plain_layers]
    assert new and all(name.startswith(FILM_LAYER_PREFIXES) or "_film" in name for name in new)
    assert all(
        plain_layers[layer.name] == [w.shape for w in layer.weights]
        for layer in conditioned.layers
        if layer.name in plain_layers
    )
    heads = 2 * 2 * (64 * 8 + 8)  # 2 blocks × (scale, shift) × Dense(64 → width 8)
    mlp = (TABLES * 64 + 64) + (64 * 64 + 64)
    assert conditioned.count_params() - plain.count_params() == mlp + heads
    assert [t.name for t in conditioned.inputs] == ["degraded", "tables"]
    assert is_conditioned(conditioned) and not is_conditioned(plain)


def test_tables_change_the_output_once_the_heads_have_learned():
    conditioned = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    randomise(conditioned, seed=3)
    images, tables = inputs()
    with_tables = conditioned([images, tables]).numpy()
    blind = conditioned([images, np.zeros_like(tables)]).numpy()
    assert np.abs(with_tables - blind).mean() > 1e-4
    assert with_tables.shape == images.shape


def test_growing_a_conditioned_net_starts_where_the_smaller_one_was():
    small = build_s2dnet(width=8, num_blocks=1, conditioned=True)
    randomise(small, seed=4)
    grown = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    copy_by_name(small, grown)
    grown.get_layer("block1_conv2").set_weights(
        [np.zeros(w.shape, w.dtype) for w in grown.get_layer("block1_conv2").weights]
    )
    images, tables = inputs(seed=5)
    np.testing.assert_allclose(grown([images, tables]), small([images, tables]), atol=1e-6)


def test_save_and_reload_keep_the_second_input(tmp_path):
    model = build_s2dnet(width=8, num_blocks=1, conditioned=True)
    randomise(model, seed=6)
    model.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    images, tables = inputs(height=17, width=30)
    np.testing.assert_allclose(again([images, tables]), model([images, tables]), atol=1e-6)
    assert is_conditioned(again)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_twenty_fit_steps_on_real_patches_with_tables_train_the_film_heads():
    rng = np.random.default_rng(0)
    photos = ImageSet([rng.integers(0, 256, (72, 80, 3), dtype=np.uint8) for _ in range(2)], ["a", "b"])
    config = PatchConfig(patch=16, quality=REAL_QUALITY_RANGE, degradation="real", gray_fraction=0.2)
    dataset = patch_dataset(photos, config, batch=4, seed=0, with_tables=True)
    model = build_s2dnet(width=8, num_blocks=1, conditioned=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    history = model.fit(dataset, steps_per_epoch=20, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert np.abs(model.get_layer("block0_film_scale").get_weights()[0]).max() > 0


def test_under_bfloat16_the_film_path_stays_float32_and_the_output_is_close():
    with dtype_policy("mixed_bfloat16"):
        low = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    full = build_s2dnet(width=8, num_blocks=2, conditioned=True)
    randomise(full, seed=7)
    low.set_weights(full.get_weights())
    # The MLP and its heads (baselines.conditioning); s2dnet sets the dtype of the FiLM layers itself.
    film = [layer for layer in low.layers if layer.name.startswith("film_") or "_film_" in layer.name]
    assert film and all(layer.compute_dtype == "float32" for layer in film)
    images, tables = inputs(seed=8)
    assert np.abs(low([images, tables]).numpy() - full([images, tables]).numpy()).max() < 0.02
