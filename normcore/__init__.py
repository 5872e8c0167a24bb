"""normcore: batch and layer normalization from scratch in NumPy.

The public names match the CS231n assignment 2 starter code, so a student can
compare their ``layers.py`` with ours function by function::

    import normcore as nc
    out, cache = nc.batchnorm_forward(x, gamma, beta, {"mode": "train"})

Data loading, sweeps, plots and widgets live in submodules (``normcore.data``,
``normcore.sweeps``, ``normcore.plots``, ``normcore.widgets``) and are not
imported here, so ``import normcore`` stays cheap.
"""

from normcore.layers import (
    affine_forward,
    affine_backward,
    relu_forward,
    relu_backward,
    softmax_loss,
    dropout_forward,
    dropout_backward,
)
from normcore.normalization import (
    batchnorm_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    layernorm_forward,
    layernorm_backward,
    spatial_batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_groupnorm_forward,
    spatial_groupnorm_backward,
)
from normcore.blocks import (
    affine_relu_forward,
    affine_relu_backward,
    affine_norm_relu_forward,
    affine_norm_relu_backward,
)
from normcore.fc_net import FullyConnectedNet
from normcore import optim
from normcore.solver import Solver
from normcore.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)

__version__ = "0.1.0"

__all__ = [
    "affine_forward", "affine_backward", "relu_forward", "relu_backward",
    "softmax_loss", "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    "affine_relu_forward", "affine_relu_backward",
    "affine_norm_relu_forward", "affine_norm_relu_backward",
    "FullyConnectedNet", "optim", "Solver",
    "eval_numerical_gradient", "eval_numerical_gradient_array",
    "grad_check_sparse", "rel_error",
]
