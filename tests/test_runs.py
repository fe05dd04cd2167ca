import json
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from unjpeg.baselines import runs


@dataclass(frozen=True)
class Config:
    model: str = "s2dnet"
    steps: int = 3


def test_new_folder_existing_folder_and_force(tmp_path):
    out = runs.prepare_run_folder(tmp_path / "run", resume=False, force=False)
    (out / "keep.txt").write_text("x")
    with pytest.raises(runs.RunFolderError, match="--resume.*--force"):
        runs.prepare_run_folder(out, resume=False, force=False)
    assert (out / "keep.txt").exists()
    runs.prepare_run_folder(out, resume=False, force=True)
    assert not (out / "keep.txt").exists()


def test_resume_needs_a_config(tmp_path):
    with pytest.raises(runs.RunFolderError, match="nothing to resume"):
        runs.prepare_run_folder(tmp_path, resume=True, force=False)
    runs.save_config(tmp_path, Config())
    assert json.loads((tmp_path / "config.json").read_text()) == {"model": "s2dnet", "steps": 3}
    assert runs.prepare_run_folder(tmp_path, resume=True, force=False) == tmp_path


def test_state_defaults_and_sample_grid(tmp_path):
    assert runs.read_state(tmp_path) == {"step": 0, "epoch": 0}
    runs.write_json(tmp_path / "state.json", {"step": 5, "epoch": 1})
    assert runs.read_state(tmp_path)["step"] == 5
    images = np.zeros((2, 8, 10, 3), np.float32)
    runs.save_sample_grid(tmp_path / "s" / "g.png", images, images + 2, images + 1)
    grid = np.asarray(Image.open(tmp_path / "s" / "g.png"))
    assert grid.shape == (16, 30, 3) and grid[0, 10, 0] == 255 and grid[0, 0, 0] == 0


def test_a_stage_started_from_a_run_keeps_its_split_seed(tmp_path):
    for name in ("new", "old"):
        (tmp_path / name).mkdir()
    runs.write_json(tmp_path / "new" / "config.json", {"seed": 4, "split_seed": 7})
    runs.write_json(tmp_path / "old" / "config.json", {"seed": 3})  # before --split-seed: split by seed
    assert runs.split_of_init(tmp_path / "new") == {"split_seed": 7}
    assert runs.split_of_init(str(tmp_path / "old")) == {"split_seed": 3}
    for no_config in ("", None, "shipped:l2", tmp_path / "g.keras", tmp_path):
        assert runs.split_of_init(no_config) == {}
