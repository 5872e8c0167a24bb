"""Batch, layer, spatial batch and group normalization: forward and backward.

All four layers standardize ``x`` over some axes and then scale and shift it::

    xhat = (x - mean(x)) / sqrt(var(x) + eps)        # statistics over `axis`
    out  = gamma * xhat + beta

They differ only in the axes of the statistics and of ``gamma``/``beta``:

==================  =================  =========================  ===============
layer               x                  statistics over            gamma, beta
==================  =================  =========================  ===============
batch norm          (N, D)             the batch, axis 0          (D,)
layer norm          (N, D)             the features, axis 1       (D,)
spatial batch norm  (N, C, H, W)       axes (0, 2, 3)             (C,)
group norm          (N, C, H, W)       each group of C/G channels (1, C, 1, 1)
==================  =================  =========================  ===============

so they share their code. Batch-norm statistics are per channel (axis 1) and
keep the reduced axes as size-1 dimensions (``keepdims=True``) so they broadcast
against ``x``: in a batch-norm cache ``mu`` has shape (1, D). Layer-norm and
group-norm statistics are per row of a (rows, features) view of ``x``.
Integer or boolean ``x``, ``gamma``, ``beta`` and ``dout`` are promoted to x's
floating dtype (float64 for an integer ``x``), as the assignment's arithmetic
would promote them (its ConvolutionalNetworks notebook passes integer ``gamma``
and ``beta``).

Batch norm additionally has :func:`batchnorm_backward`, a node-by-node walk
back through the computation graph whose intermediates the cache names.

Where each piece lives:

* :mod:`~normcore.normalization.batchnorm`: batch norm (both backward passes)
  and spatial batch norm;
* :mod:`~normcore.normalization.layernorm`: layer norm and group norm;
* :mod:`~normcore.normalization.caches`: what each forward pass keeps;
* :mod:`~normcore.normalization.kernels`: the reductions, the row
  standardization and the input checks they share.
"""

from normcore.normalization.batchnorm import (
    batchnorm_backward, batchnorm_backward_alt, batchnorm_forward, spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from normcore.normalization.caches import BatchNormCache, GroupNormCache, LayerNormCache
# The assignment's defaults for bn_param / ln_param / gn_param: eps 1e-5, momentum 0.9.
from normcore.normalization.kernels import DEFAULT_EPS, DEFAULT_MOMENTUM
from normcore.normalization.layernorm import (
    layernorm_backward, layernorm_forward, spatial_groupnorm_backward, spatial_groupnorm_forward,
)

__all__ = [
    "DEFAULT_EPS", "DEFAULT_MOMENTUM",
    "BatchNormCache", "LayerNormCache", "GroupNormCache",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
]
