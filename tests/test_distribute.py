"""unjpeg.gan.distribute.make_strategy on a machine without GPU: the CPU, whole or split into logical devices."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf
from unjpeg.gan.distribute import make_strategy

ROOT = Path(__file__).resolve().parents[1]

SPLIT_SCRIPT = """
import json
from unjpeg.gan.distribute import make_strategy
strategy = make_strategy(2)
print("RESULT" + json.dumps({"replicas": strategy.num_replicas_in_sync,
                             "devices": list(strategy.extended.worker_devices)}))
"""


@pytest.mark.skipif(tf.config.list_physical_devices("GPU") != [], reason="the CPU path only")
def test_default_is_one_replica_on_the_cpu(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = make_strategy()
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 1
    assert strategy.extended.worker_devices[0].endswith("CPU:0")


@pytest.mark.slow
@pytest.mark.skipif(tf.config.list_physical_devices("GPU") != [], reason="the CPU path only")
def test_devices_split_the_cpu_before_tensorflow_starts():
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-c", SPLIT_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, result.stderr[-2000:]
    out = json.loads(lines[0].removeprefix("RESULT"))
    assert out["replicas"] == 2
    assert [device[-5:] for device in out["devices"]] == ["CPU:0", "CPU:1"]


@pytest.mark.skipif(tf.config.list_physical_devices("GPU") != [], reason="the CPU path only")
def test_too_many_devices_after_start_fail_clearly(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    tf.constant(1.0)  # TensorFlow has started: the CPU can no longer be split
    available = len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(
        ValueError, match=f"--devices {available + 2}: TensorFlow started with fewer CPU devices"
    ):
        make_strategy(available + 2)
