import argparse

import pytest
from unjpeg.data.options import add_data_options, data_config


def parse(*words):
    parser = argparse.ArgumentParser()
    add_data_options(parser)
    return parser.parse_args(["--data", "photos", "--out", "runs/x", *words])


def test_left_out_options_fall_to_the_saved_run_or_the_dataclass():
    config = data_config(parse())
    assert config["quality"] == (10, 50) and config["steps_per_epoch"] == 250
    assert not {"patch", "batch", "seed", "gray_fraction", "steps"} & set(config)
    resumed = data_config(parse("--batch", "4"), saved={"patch": 64, "batch": 16, "steps": 900})
    assert resumed["patch"] == 64 and resumed["batch"] == 4 and resumed["steps"] == 900


def test_epochs_count_checkpoint_intervals_and_short_runs_shrink_the_epoch():
    assert data_config(parse("--epochs", "3", "--checkpoint-every", "100"))["steps"] == 300
    assert data_config(parse("--steps", "2"))["steps_per_epoch"] == 2


def test_steps_and_epochs_exclude_each_other():
    with pytest.raises(SystemExit):
        parse("--steps", "5", "--epochs", "2")
