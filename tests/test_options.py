import argparse

import pytest
from unjpeg.baselines.runs import RunFolderError
from unjpeg.baselines.train import TrainConfig
from unjpeg.gan.train_gan import GanConfig

from unjpeg.options import add_run_options, given_run_options, merged_config


def parse(*words):
    parser = argparse.ArgumentParser()
    add_run_options(parser)
    return parser.parse_args(["--data", "photos", "--out", "runs/x", *words])


def merged(*words, saved=None, resume=False, config_class=TrainConfig, **given):
    args = parse(*words)
    options = {**given_run_options(args), "model": "s2dnet", **given}
    return merged_config(config_class, options, saved or {}, resume, args.epochs)


def test_left_out_options_take_the_dataclass_defaults():
    config = merged()
    assert config == TrainConfig(model="s2dnet", data="photos", out="runs/x")
    assert config.quality == (10, 50) and config.checkpoint_every == 250 and config.grid_offsets is False
    assert merged(config_class=GanConfig).batch == 8  # each trainer's own default


def test_command_line_over_saved_run_over_defaults_for_every_option():
    saved = {"model": "s2dnet", "quality": [30, 30], "grid_offsets": True, "checkpoint_every": 50}
    saved |= {"patch": 64, "batch": 4, "steps": 900, "learning_rate": 1e-4, "model_kwargs": {"width": 8}}
    resumed = merged(saved=saved, resume=True)
    assert resumed.quality == (30, 30) and resumed.grid_offsets is True and resumed.checkpoint_every == 50
    assert (resumed.patch, resumed.batch, resumed.steps, resumed.learning_rate) == (64, 4, 900, 1e-4)
    assert resumed.model_kwargs == {"width": 8} and resumed.gray_fraction == 0.15  # not saved: default
    told = merged(
        "--quality", "10-20", "--no-grid-offsets", "--checkpoint-every", "7", saved=saved, resume=True
    )
    assert (told.quality, told.grid_offsets, told.checkpoint_every, told.batch) == ((10, 20), False, 7, 4)


def test_real_degradation_validates_the_high_end_whatever_the_quality_range():
    assert merged("--degradation", "real").quality == (5, 100)
    narrowed = merged("--degradation", "real", "--quality", "5-70")
    assert narrowed.quality == (5, 70) and narrowed.val_qualities == (10, 30, 90)
    assert merged("--quality", "5-70").val_qualities == (10, 30)  # Pillow q-range patches: no high component


def test_subsampling_weights_are_merged_and_refused_for_classic_jpegs():
    assert merged("--degradation", "real").subsampling_weights == (1.0, 1.0, 1.0)
    told = merged("--degradation", "real", "--subsampling-weights", "420=2,422=1,444=1")
    assert told.subsampling_weights == (1.0, 1.0, 2.0)
    saved = {"model": "s2dnet", "degradation": "real", "subsampling_weights": [0.0, 0.0, 1.0]}
    assert merged(saved=saved, resume=True).subsampling_weights == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="needs --degradation real"):
        merged("--subsampling-weights", "420=1")


def test_min_scale_is_merged_and_defaults_to_no_scale_augmentation():
    assert merged().min_scale == 1.0
    assert merged("--min-scale", "0.5").min_scale == 0.5
    assert merged(saved={"model": "s2dnet", "min_scale": 0.7}, resume=True).min_scale == 0.7
    with pytest.raises(ValueError, match="--min-scale must be in"):
        merged("--min-scale", "0")


def test_epochs_count_checkpoint_intervals_of_the_merged_config():
    assert merged("--epochs", "3", "--checkpoint-every", "100").steps == 300
    assert merged("--epochs", "2", saved={"model": "s2dnet", "checkpoint_every": 40}, resume=True).steps == 80


def test_fixed_options_refuse_a_change_on_resume_in_one_line():
    saved = {"model": "s2dnet", "model_kwargs": {"width": 8}, "precision": "bfloat16"}
    with pytest.raises(RunFolderError, match="this run trained 's2dnet', cannot resume it as 'blockcnn'"):
        merged(saved=saved, resume=True, model="blockcnn")
    with pytest.raises(RunFolderError) as error:
        merged(saved=saved, resume=True, precision="float32")
    assert (
        str(error.value)
        == "runs/x: this run has precision='bfloat16', cannot resume it with precision='float32'"
    )
    with pytest.raises(RunFolderError, match="d_width=32, cannot resume it with d_width=4"):
        merged(saved={**saved, "d_width": 32}, resume=True, config_class=GanConfig, d_width=4)
    assert merged(saved=saved, resume=True, precision="bfloat16").precision == "bfloat16"
    assert merged(saved=saved, precision="float32").precision == "float32"  # a new run may choose


def test_configs_written_before_the_renames_still_resume():
    old = {"model": "s2dnet", "steps_per_epoch": 100, "mixed_precision": True, "epochs_unknown_key": 1}
    config = merged(saved=old, resume=True, config_class=GanConfig)
    assert config.checkpoint_every == 100 and config.precision == "float16"
    assert merged(saved={"model": "s2dnet"}, resume=True).precision == "float32"


def test_steps_and_epochs_exclude_each_other():
    with pytest.raises(SystemExit):
        parse("--steps", "5", "--epochs", "2")
