"""BlockCNN: Maleki et al., "A Deep Network for Artifact Removal and Image Compression", CVPR-W 2018.

BlockCNN restores each 8×8 JPEG block from its 24×24 neighbourhood (the block and its 8 neighbours). The
authors' network (github.com/DaniMlk/BlockCNN, `model.py`) runs on one window at a time: convs with
k = 64, 128, 256, 512 filters and bottleneck residual blocks (1×1 → 3×3 → 1×1, batch norm, LeakyReLU(0.1)),
then 1×1 convs back down to the output block.

Here the whole image goes through ONE fully convolutional pass that gives exactly the block-by-block result
(`restore_blockwise` is the block-by-block reference). Every spatial layer is 'valid' (no zero padding that
would depend on where the window sits), and the receptive field of output block (i, j) is exactly pixels
[8i, 8i + 24) × [8j, 8j + 24) of the padded image, i.e. the block plus one block on each side:

    layer (all 'valid')                  kernel, stride   receptive field, stride (pixels)
    conv1: k                             6×6, 2           6, 2      (= space-to-depth(2) then 3×3)
    bottleneck 1, 2: k                   3×3 middle       10, 14
    conv2: 2k                            3×3 at stride 2  18, 2
    bottleneck 3: 2k                     1×1 middle       18, 2
    conv3: 4k                            4×4, 4           24, 8     (18 + 3·2)
    bottleneck 4–9, convs 4–7 (8k…k)     1×1 only         24, 8     (a per-block MLP)
    conv8: 3                             8×8 transposed, 8  the 8×8 block

A window computed alone therefore sees the same pixels and applies the same arithmetic as inside the whole
image. The authors' 'same' 3×3 convs would let border zeros leak in and widen the field, so bottlenecks at
stride 2 use 'valid' 3×3 convs with a centre-cropped shortcut, and bottlenecks at block resolution use 1×1.
Equality holds in inference mode; in training mode batch norm uses the statistics of whatever batch it sees.
"""

import keras
import numpy as np
from unjpeg.baselines.layers import CropLike, PadToMultiple
from unjpeg.data.jpeg import GRID

WINDOW = 3 * GRID  # BlockCNN's input: the block with its 8 neighbours, 24×24 pixels.
LEAKY_SLOPE = 0.1  # nn.LeakyReLU(0.1) in the authors' model.py.


def _conv_bn_act(x, filters: int, kernel: int, strides: int, name: str):
    """Conv ('valid', no bias) → batch norm → LeakyReLU(0.1): the authors' `relu(bn(conv(x)))`."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_act")(x)


def _bottleneck(x, middle_kernel: int, name: str):
    """The authors' BottleNeck(c, c): 1×1 → k×k → 1×1 convs with c filters each, batch norm, shortcut add.

    The middle conv is 'valid', so for `middle_kernel=3` the output is 2 pixels smaller and the shortcut is
    centre-cropped by 1 to match (as in valid-padding ResNets).
    """
    channels = x.shape[-1]
    y = _conv_bn_act(x, channels, 1, 1, f"{name}_reduce")
    y = _conv_bn_act(y, channels, middle_kernel, 1, f"{name}_middle")
    y = keras.layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_expand")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_expand_bn")(y)
    shortcut = x
    if middle_kernel > 1:
        shortcut = keras.layers.Cropping2D(middle_kernel // 2, name=f"{name}_crop")(x)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_act")(y)


def build_blockcnn(width: int = 64) -> keras.Model:
    """BlockCNN as one fully convolutional pass; name "blockcnn". See the module docstring for the layout.

    Input `(B, H, W, 3) float32 in [0, 1]`, any H, W >= 12; output the same shape (linear, unclipped).
    The image is mirror-padded inside the model to a multiple of 8 plus one 8-pixel block on every side
    (`PadToMultiple`, symmetric), so border blocks also get 8 neighbours, and the output is cropped back.

    Layer order and widths follow the authors' `CNN_Net` with k = `width` (64 in the paper's code):
    conv1 k, bottleneck ×2, conv2 2k, bottleneck, conv3 4k, bottleneck ×2, conv4 8k, bottleneck, conv5 4k,
    bottleneck, conv6 2k, bottleneck, conv7 k, bottleneck, conv8 to the 8×8×3 block. Their spatial kernels
    (3×5, 3×5, 1×5 for a 16×24 window) are replaced by the 'valid' layout above for the 24×24 window.

    Changes from the authors: a global residual (output = input + conv8; DnCNN-style residual learning, so
    the network learns the artifact, not the image) replaces their sigmoid·255 output, and conv8 has a bias
    since no batch norm follows it.

    Parameters at `width=64`: 2,523,651 (2,510,467 trainable).
    """
    inputs = keras.Input((None, None, 3), name="jpeg")
    x = PadToMultiple(GRID, border=GRID, mode="SYMMETRIC", name="pad")(inputs)
    x = _conv_bn_act(x, width, 6, 2, "conv1")
    x = _bottleneck(x, 3, "bottleneck1")
    x = _bottleneck(x, 3, "bottleneck2")
    x = _conv_bn_act(x, 2 * width, 3, 1, "conv2")
    x = _bottleneck(x, 1, "bottleneck3")
    x = _conv_bn_act(x, 4 * width, 4, 4, "conv3")  # from here on: one vector per 8×8 block
    x = _bottleneck(x, 1, "bottleneck4")
    x = _bottleneck(x, 1, "bottleneck5")
    x = _conv_bn_act(x, 8 * width, 1, 1, "conv4")
    x = _bottleneck(x, 1, "bottleneck6")
    x = _conv_bn_act(x, 4 * width, 1, 1, "conv5")
    x = _bottleneck(x, 1, "bottleneck7")
    x = _conv_bn_act(x, 2 * width, 1, 1, "conv6")
    x = _bottleneck(x, 1, "bottleneck8")
    x = _conv_bn_act(x, width, 1, 1, "conv7")
    x = _bottleneck(x, 1, "bottleneck9")
    # An 8×8 stride-8 transposed conv is a 1×1 conv to 8·8·3 channels followed by depth-to-space(8).
    x = keras.layers.Conv2DTranspose(3, GRID, strides=GRID, name="conv8")(x)
    correction = CropLike(name="crop")(x, inputs)
    outputs = keras.layers.Add(name="restored")([inputs, correction])
    return keras.Model(inputs, outputs, name="blockcnn")


def restore_blockwise(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """Reference BlockCNN restoration: each 8×8 block from its own 24×24 neighbourhood, cut out with numpy.

    `image` is `(H, W, 3) float32 in [0, 1]`; returns `(H, W, 3) float32`. The image is padded as the model
    pads it (mirror, to a multiple of 8 plus 8 pixels per side) and cut into one 24×24 window per block. The
    windows go through `model` in inference mode as a batch of separate 24×24 images, and the centre 8×8 of
    each result is kept: fed a 24×24 window, the model pads it to 40×40 and its centre output block sees
    exactly that window. For tests and documentation; `build_blockcnn`'s single pass gives the same result.
    """
    height, width = image.shape[:2]
    extra_h, extra_w = -height % GRID, -width % GRID
    padded = np.pad(image, ((GRID, GRID + extra_h), (GRID, GRID + extra_w), (0, 0)), mode="symmetric")
    rows, cols = (height + extra_h) // GRID, (width + extra_w) // GRID
    windows = [
        padded[GRID * i : GRID * i + WINDOW, GRID * j : GRID * j + WINDOW]
        for i in range(rows)
        for j in range(cols)
    ]
    restored = keras.ops.convert_to_numpy(model(np.stack(windows), training=False))
    centres = restored[:, GRID : 2 * GRID, GRID : 2 * GRID]  # (rows·cols, 8, 8, 3), row-major blocks
    tiled = centres.reshape(rows, cols, GRID, GRID, 3).transpose(0, 2, 1, 3, 4)
    return tiled.reshape(rows * GRID, cols * GRID, 3)[:height, :width]
