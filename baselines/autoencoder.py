"""Convolutional autoencoders for JPEG artifact removal, trained with an L2 pixel loss.

`build_autoencoder_fc` is the first seed project's network: a CIFAR-10 autoencoder whose decoder is one Dense
layer, so it only accepts 32×32 inputs. `build_autoencoder` is the improvement that seed proposed: strided
convolutions instead of pooling, a `Conv2DTranspose` decoder, any H×W, and a global residual.

Both take the JPEG-decoded image, `(B, H, W, 3) float32 in [0, 1]`, and return the restored image of the same
shape. Outputs are linear (not clipped or squashed) during training; clip to [0, 1] when writing images.
"""

import keras
from unjpeg.baselines.layers import CropLike, PadToMultiple

CIFAR_SIZE = 32  # CIFAR-10 images are 32×32×3; the Dense decoder of autoencoder-fc is sized for them.


def check_input_size(model: keras.Model, image_shape) -> None:
    """Raise a ValueError naming the expected size if `model` has a fixed H×W and `image_shape` differs.

    `image_shape` is `(H, W, C)` or `(B, H, W, C)`. Fully convolutional models (input `(None, None, 3)`)
    accept any size and pass silently. Keras itself also rejects a wrong size when the model is called, but
    its message ("expected shape=(None, 32, 32, 3)") does not say what to do about it.
    """
    expected_h, expected_w = model.input_shape[1:3]
    h, w = tuple(image_shape)[-3:-1]
    if (expected_h is not None and h != expected_h) or (expected_w is not None and w != expected_w):
        raise ValueError(
            f"{model.name} takes {expected_h}×{expected_w} images (its Dense decoder has a fixed size), "
            f"got {h}×{w}; cut the image into {expected_h}×{expected_w} tiles first."
        )


def build_autoencoder_fc(width: int = 32) -> keras.Model:
    """The seed's CIFAR-10 autoencoder: conv stages 6×6, 3×3, 2×2 and a Dense decoder; "autoencoder-fc".

    Input and output `(B, 32, 32, 3) float32`, input in [0, 1]; other sizes are rejected (see
    `check_input_size`). Each stage is conv ('same') → ELU → batch norm → 2×2 max pooling, as in the seed:
    32 → 16 → 8 → 4 pixels with `width`, `2·width`, `2·width` filters. The 4·4·2·width code feeds one Dense
    layer to 32·32·3 values, reshaped to the image. The seed gives no filter counts; `width=32` is our choice.

    The output is linear, not sigmoid: clean pixels often sit at exactly 0 or 1, where a sigmoid needs
    infinite logits and its gradient vanishes under L2; and every generator in this project returns
    unclipped outputs during training, so losses and metrics treat them alike.

    Parameters at `width=32`: 3,187,872 (3,187,552 trainable), 3,148,800 of them in the Dense layer.
    """
    inputs = keras.Input((CIFAR_SIZE, CIFAR_SIZE, 3), name="jpeg")
    x = inputs
    for stage, (filters, kernel) in enumerate(((width, 6), (2 * width, 3), (2 * width, 2)), start=1):
        x = keras.layers.Conv2D(filters, kernel, padding="same", name=f"conv{stage}")(x)
        x = keras.layers.ELU(name=f"elu{stage}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{stage}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(CIFAR_SIZE * CIFAR_SIZE * 3, name="dense")(x)
    outputs = keras.layers.Reshape((CIFAR_SIZE, CIFAR_SIZE, 3), name="restored")(x)
    return keras.Model(inputs, outputs, name="autoencoder-fc")


def build_autoencoder(width: int = 32, depth: int = 2) -> keras.Model:
    """The seed's proposed improvement: strided-conv encoder, transposed-conv decoder, global residual.

    Input `(B, H, W, 3) float32 in [0, 1]`, any H, W >= 2**(depth - 1); output the same shape (linear,
    unclipped). Name "autoencoder".

    - No pooling: `depth` stride-2 convs (6×6 first, then 3×3, the seed's kernel sizes) with `width·2**i`
      filters, a 2×2 stage at the bottom, then `depth` stride-2 `Conv2DTranspose` mirroring the encoder; the
      last one outputs 3 linear channels. Every hidden conv is followed by ELU and batch norm, as in the seed.
    - Any size: the input is mirror-padded to a multiple of 2**depth in the model, the output cropped back.
    - Global residual, output = input + correction: the JPEG image is already close to the clean one, so the
      network only learns the (small, zero-mean) artifact correction. This is DnCNN's residual learning
      (Zhang et al., "Beyond a Gaussian Denoiser", TIP 2017, which also applies it to JPEG deblocking). It
      also carries full-resolution detail past the 2**depth× downsampled bottleneck, which autoencoder-fc
      has to squeeze through its Dense code.
    - `width=32` matches the conv widths of autoencoder-fc so that the two differ only in the design above.

    Parameters at `width=32, depth=2`: 61,123 (60,739 trainable).
    """
    inputs = keras.Input((None, None, 3), name="jpeg")
    x = PadToMultiple(2**depth, mode="SYMMETRIC", name="pad")(inputs)
    for i in range(depth):
        kernel = 6 if i == 0 else 3
        x = keras.layers.Conv2D(width * 2**i, kernel, strides=2, padding="same", name=f"down{i}")(x)
        x = keras.layers.ELU(name=f"down{i}_elu")(x)
        x = keras.layers.BatchNormalization(name=f"down{i}_bn")(x)
    x = keras.layers.Conv2D(width * 2 ** (depth - 1), 2, padding="same", name="middle")(x)
    x = keras.layers.ELU(name="middle_elu")(x)
    x = keras.layers.BatchNormalization(name="middle_bn")(x)
    for i in reversed(range(1, depth)):
        x = keras.layers.Conv2DTranspose(width * 2 ** (i - 1), 3, strides=2, padding="same", name=f"up{i}")(x)
        x = keras.layers.ELU(name=f"up{i}_elu")(x)
        x = keras.layers.BatchNormalization(name=f"up{i}_bn")(x)
    x = keras.layers.Conv2DTranspose(3, 6, strides=2, padding="same", name="up0")(x)
    correction = CropLike(name="crop")(x, inputs)
    outputs = keras.layers.Add(name="restored")([inputs, correction])
    return keras.Model(inputs, outputs, name="autoencoder")
