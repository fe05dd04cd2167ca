"""Adversarial losses on discriminator logits, as plain functions returning per-example losses.

Every function takes the discriminator's logits on real images and on restored (fake) images, each
(B, ...) float32 of any trailing shape, e.g. the (B, h, w, 1) map of a PatchGAN, and returns
`(g_loss, d_loss)`, each (B,) float32: the loss of every example averaged over its patches. They are
per-example so that the caller reduces them by the GLOBAL batch (`tf.nn.compute_average_loss`) under a
distribution strategy; `mean()` of them gives the usual batch loss.

- `bce`: the non-saturating GAN of Goodfellow et al. 2014 ("Generative Adversarial Nets", §3):
  D minimises −log σ(real) − log(1 − σ(fake)); G minimises −log σ(fake) instead of log(1 − σ(fake)).
- `ragan`: the relativistic average GAN of Jolicoeur-Martineau 2018 ("The relativistic discriminator"),
  as used by ESRGAN (Wang et al. 2018, eq. 1–2): D_Ra(a, b) = σ(C(a) − mean C(b)). Both terms are halved
  as in BasicSR's `ESRGANModel` (the reference implementation that ESRGAN's weight 5e-3 goes with), and D's
  averages of the other side are constants (`stop_gradient`), as BasicSR detaches them. The mean is over the
  batch passed in, i.e. the per-replica batch under a distribution strategy (as BasicSR under DDP).
- `hinge`: Lim & Ye 2017 ("Geometric GAN"), Miyato et al. 2018 (SN-GAN): D minimises
  relu(1 − real) + relu(1 + fake); G minimises −fake.

Logits are raw scores (no sigmoid); the binary cross-entropies use softplus, so large logits stay finite.
"""

from __future__ import annotations

from keras import ops


def _per_example(values):
    """(B, ...) -> (B,) mean over everything but the batch axis."""
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def _bce_real(logits):
    """Binary cross-entropy with target 1: −log σ(x) = softplus(−x)."""
    return ops.softplus(-logits)


def _bce_fake(logits):
    """Binary cross-entropy with target 0: −log(1 − σ(x)) = softplus(x)."""
    return ops.softplus(logits)


def bce(real_logits, fake_logits):
    """Non-saturating GAN: g = −log σ(fake); d = −log σ(real) − log(1 − σ(fake)). Returns (g, d), (B,) each."""
    g_loss = _per_example(_bce_real(fake_logits))
    d_loss = _per_example(_bce_real(real_logits)) + _per_example(_bce_fake(fake_logits))
    return g_loss, d_loss


def ragan(real_logits, fake_logits):
    """Relativistic average GAN (ESRGAN). Returns (g, d), (B,) each.

    With r = real logits, f = fake logits and means over the batch and patches:
      g = ½ [−log(1 − σ(r − mean f)) − log σ(f − mean r)]
      d = ½ [−log σ(r − mean f) − log(1 − σ(f − mean r))]   (the means held constant for D)
    """
    real_mean, fake_mean = ops.mean(real_logits), ops.mean(fake_logits)
    g_loss = 0.5 * (
        _per_example(_bce_fake(real_logits - fake_mean)) + _per_example(_bce_real(fake_logits - real_mean))
    )
    real_mean, fake_mean = ops.stop_gradient(real_mean), ops.stop_gradient(fake_mean)
    d_loss = 0.5 * (
        _per_example(_bce_real(real_logits - fake_mean)) + _per_example(_bce_fake(fake_logits - real_mean))
    )
    return g_loss, d_loss


def hinge(real_logits, fake_logits):
    """Hinge GAN: g = −fake; d = relu(1 − real) + relu(1 + fake). Returns (g, d), (B,) each."""
    g_loss = _per_example(-fake_logits)
    d_loss = _per_example(ops.relu(1.0 - real_logits)) + _per_example(ops.relu(1.0 + fake_logits))
    return g_loss, d_loss


ADVERSARIAL_LOSSES = {"bce": bce, "ragan": ragan, "hinge": hinge}
