"""`unjpeg.train_gan_cli` without training: --init resolution, its builder kwargs, and the parsed GanConfig.

Training through `unjpeg train-gan` is tested in test_train_gan.py; here the init run folders are bare
config.json files, so nothing is built or loaded.
"""

import pytest
from unjpeg.baselines import runs
from unjpeg.gan.model import PSNR_PIXEL_WEIGHT
from unjpeg.gan.train_gan import GanConfig

from unjpeg import cli
from unjpeg.sources import SHIPPED_DIR, SourceError
from unjpeg.train_gan_cli import config_from_args, init_kwargs, init_source

KWARGS = {"width": 8, "num_blocks": 2}


@pytest.fixture
def l2_run(tmp_path):
    """An L2 run folder as `train` leaves it, minus the weights: s2dnet, width 8, 2 blocks, split seed 3."""
    folder = tmp_path / "l2"
    folder.mkdir()
    runs.write_json(
        folder / "config.json",
        {"model": "s2dnet", "model_kwargs": KWARGS, "split_seed": 3, "pixel_weight": 7},
    )
    return folder


def config(*argv, out="out"):
    """`config_from_args` of `unjpeg train-gan --generator s2dnet --data d --out OUT --precision float32 ARGV`."""
    base = ["train-gan", "--generator", "s2dnet", "--data", "d", "--out", str(out), "--precision", "float32"]
    return config_from_args(cli.build_parser("train-gan").parse_args([*base, *map(str, argv)]))[0]


# init_source


def test_init_source_keeps_a_run_folder_even_before_its_generator_exists(l2_run):
    assert init_source(str(l2_run)) == str(l2_run)  # its config gives the builder kwargs


def test_init_source_resolves_shipped_names_and_keras_files(tmp_path):
    assert init_source("shipped:l2") == str(SHIPPED_DIR / "l2.keras")
    (tmp_path / "g.keras").write_bytes(b"")
    assert init_source(str(tmp_path / "g.keras")) == str(tmp_path / "g.keras")


@pytest.mark.parametrize("name", ["model.pt", "no_such_folder"])
def test_init_source_passes_anything_else_on(tmp_path, name):
    (tmp_path / "no_such_folder").mkdir()  # a folder without config.json is no run folder
    assert init_source(str(tmp_path / name)) == str(tmp_path / name)


def test_init_source_of_an_unknown_shipped_name_says_so():
    with pytest.raises(SourceError, match=r"^shipped:nope: no such shipped model \(shipped: .*\bl2\b.*\)$"):
        init_source("shipped:nope")


# init_kwargs


@pytest.mark.parametrize(
    "given, expected",
    [
        ({}, KWARGS),
        ({"width": 8}, KWARGS),
        ({"conditioned": True}, {**KWARGS, "conditioned": True}),
        ({"num_blocks": 4}, {"width": 8, "num_blocks": 4}),  # grown
    ],
)
def test_init_kwargs_grow_the_runs_kwargs(l2_run, given, expected):
    assert init_kwargs(str(l2_run), given) == expected


def test_init_kwargs_refuse_another_width(l2_run):
    with pytest.raises(ValueError) as raised:  # the kwargs as config.json stores them, keys sorted
        init_kwargs(str(l2_run), {"width": 4, "conditioned": True})
    assert str(raised.value) == (
        f"{l2_run}: the init generator was built with width 8 ({{'num_blocks': 2, 'width': 8}}), not width 4"
    )


def test_init_kwargs_know_the_builders_default_width(tmp_path):
    """A run given no --width saves no width: it was built at s2dnet's default, 128."""
    runs.write_json(tmp_path / "config.json", {"model": "s2dnet", "model_kwargs": {"num_blocks": 2}})
    assert init_kwargs(str(tmp_path), {"width": 128}) == {"num_blocks": 2, "width": 128}
    with pytest.raises(ValueError, match=r"built with width 128 \(\{'num_blocks': 2\}\), not width 8$"):
        init_kwargs(str(tmp_path), {"width": 8})


def test_init_kwargs_of_a_keras_file_are_the_given_ones(tmp_path):
    assert init_kwargs(str(tmp_path / "g.keras"), {"width": 4, "conditioned": True}) == {
        "width": 4,
        "conditioned": True,
    }
    assert init_kwargs("shipped:l2", {}) == {}


# config_from_args


def test_a_new_run_takes_the_init_runs_kwargs_and_split_but_not_its_losses(l2_run):
    got = config("--init", l2_run, "--conditioned")
    assert isinstance(got, GanConfig)
    assert (got.model, got.init, got.data, got.out) == ("s2dnet", str(l2_run), "d", "out")
    assert got.model_kwargs == {**KWARGS, "conditioned": True}
    assert got.split_seed == 3
    assert got.pixel_weight == GanConfig.pixel_weight  # an L2 run's settings are not GAN settings


def test_a_new_run_refuses_a_width_its_init_run_was_not_built_with(l2_run):
    with pytest.raises(ValueError, match=r"the init generator was built with .*, not width 4$"):
        config("--init", l2_run, "--width", "4")


def test_the_psnr_pixel_loss_brings_its_weight_unless_one_is_given(l2_run):
    psnr = config("--init", l2_run, "--pixel-loss", "psnr")
    assert (psnr.pixel_loss, psnr.pixel_weight) == ("psnr", PSNR_PIXEL_WEIGHT)
    assert config("--init", l2_run, "--pixel-loss", "psnr", "--pixel-weight", "0.5").pixel_weight == 0.5
    mse = config("--init", l2_run)
    assert (mse.pixel_loss, mse.pixel_weight) == ("mse", 100.0)


def test_gan_options_of_the_same_name_and_learning_rates(tmp_path):
    init = tmp_path / "g.keras"
    got = config(
        "--init", init, "--width", "4", "--warmup", "7", "--lpips-weight", "1.5", "--adv-weight", "0.25",
        "--adversarial", "hinge", "--ema-decay", "0.9", "--d-width", "4", "--devices", "2",
        "--lr", "3e-4", "--d-lr", "1e-5",
    )  # fmt: skip
    assert got.init == str(init) and got.model_kwargs == {"width": 4} and got.split_seed == 1
    assert (got.warmup, got.lpips_weight, got.adv_weight, got.adversarial) == (7, 1.5, 0.25, "hinge")
    assert (got.ema_decay, got.d_width, got.devices) == (0.9, 4, 2)
    assert (got.g_lr, got.d_lr) == (3e-4, 1e-5)  # --lr for both, unless one is given its own


def test_a_new_run_without_init_is_refused_in_one_line():
    with pytest.raises(ValueError) as raised:
        config()
    assert str(raised.value) == (
        "--init is required: the L2 run folder, shipped:NAME or .keras generator to fine-tune"
    )


def test_a_resumed_run_keeps_its_init_kwargs_and_psnr_weight(tmp_path, l2_run):
    out = tmp_path / "gan"
    out.mkdir()
    saved = {"model": "s2dnet", "init": str(l2_run), "model_kwargs": KWARGS, "precision": "float32"}
    runs.write_json(out / "config.json", {**saved, "pixel_loss": "psnr", "pixel_weight": 0.05})
    got = config("--resume", out=out)
    assert (got.init, got.model_kwargs) == (str(l2_run), KWARGS)
    assert (got.pixel_loss, got.pixel_weight) == ("psnr", 0.05)
    assert config("--resume", "--pixel-loss", "psnr", out=out).pixel_weight == 0.05
    with pytest.raises(runs.RunFolderError, match=r"cannot resume it with model_kwargs="):
        config("--resume", "--blocks", "4", out=out)
