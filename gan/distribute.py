"""The `tf.distribute` strategy of a GAN run.

`unjpeg train-gan` runs under `tf.distribute.MirroredStrategy` (all GPUs, else the CPU; `--devices N` takes N
GPUs, or splits the CPU into N logical devices, for tests). `--batch` is the GLOBAL batch, split over the
replicas. On several machines, set TF_CONFIG on each and run the same command on every one; the run then
uses `tf.distribute.MultiWorkerMirroredStrategy`:

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}'

with "index" 0 on the chief and 1, 2, … on the others. Every worker writes checkpoints (they are collective),
so give each worker its own --out on local disk and keep the chief's (index 0). Each worker draws the whole
patch stream and Keras keeps its share (auto-shard by data).
"""

from __future__ import annotations

import os


def make_strategy(devices: int = 0):
    """TF_CONFIG set: MultiWorkerMirroredStrategy. Else MirroredStrategy over `devices` GPUs (0: all) or,
    without GPU, over the CPU split into `devices` logical devices (possible only before TensorFlow starts)."""
    import tensorflow as tf

    if "TF_CONFIG" in os.environ:
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices or len(gpus))])
    if devices > 1:
        try:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * devices
            )
        except RuntimeError as err:  # already started: fine if the devices exist
            if len(tf.config.list_logical_devices("CPU")) < devices:
                raise ValueError(
                    f"--devices {devices}: TensorFlow started with fewer CPU devices ({err})"
                ) from None
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(max(devices, 1))])
