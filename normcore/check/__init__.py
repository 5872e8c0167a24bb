"""Check a student's assignment layers and name the mistake, with its evidence.

One checker per layer of the CS231n assignment 2. Each runs the student's
function on crafted inputs, compares it with normcore and with numerical
gradients, and returns a :class:`Report` that displays itself in a notebook::

    from normcore.check import check_batchnorm_forward
    check_batchnorm_forward(batchnorm_forward)   # the student's function

    # batchnorm_forward: FAILED (1 of 5 checks)
    #   FAIL  running statistics: running_var is 1.0e-05 larger than the batch
    #         variance (eps = 1e-05): eps seems to be stored in the running variance ...

A checker never raises because the student's code is wrong (exceptions are
reported in one line); it raises ``TypeError`` only when it is misused. A stub
(``raise NotImplementedError``, or only None returned) is "not attempted yet".
From a shell, ``python -m normcore.check path/to/layers.py`` checks a whole file.
"""

from normcore.check.basic import (
    check_affine_backward,
    check_affine_forward,
    check_dropout_backward,
    check_dropout_forward,
    check_relu_backward,
    check_relu_forward,
    check_softmax_loss,
)
from normcore.check.bn_forward import check_batchnorm_forward, check_spatial_batchnorm_forward
from normcore.check.ln_gn_forward import check_layernorm_forward, check_spatial_groupnorm_forward
from normcore.check.loader import LoadError, load_layers
from normcore.check.norm_backward import (
    check_batchnorm_backward,
    check_batchnorm_backward_alt,
    check_layernorm_backward,
    check_spatial_batchnorm_backward,
    check_spatial_groupnorm_backward,
)
from normcore.check.report import Property, Report

#: layer name -> its checker, in the assignment's order
CHECKERS = {
    "affine_forward": check_affine_forward,
    "affine_backward": check_affine_backward,
    "relu_forward": check_relu_forward,
    "relu_backward": check_relu_backward,
    "softmax_loss": check_softmax_loss,
    "batchnorm_forward": check_batchnorm_forward,
    "batchnorm_backward": check_batchnorm_backward,
    "batchnorm_backward_alt": check_batchnorm_backward_alt,
    "layernorm_forward": check_layernorm_forward,
    "layernorm_backward": check_layernorm_backward,
    "dropout_forward": check_dropout_forward,
    "dropout_backward": check_dropout_backward,
    "spatial_batchnorm_forward": check_spatial_batchnorm_forward,
    "spatial_batchnorm_backward": check_spatial_batchnorm_backward,
    "spatial_groupnorm_forward": check_spatial_groupnorm_forward,
    "spatial_groupnorm_backward": check_spatial_groupnorm_backward,
}


def check_module(module, timeout: float | None = None) -> list[Report]:
    """Run the checker of every assignment layer ``module`` defines, in order.

    normcore's own layers, which a student's file may import (``from
    cs231n.layers import *`` is answered with them), are not the student's work
    and are skipped. With ``timeout`` (seconds, CLI only: it needs the main
    thread's alarm signal) a layer that loops forever fails instead of hanging.
    """
    import normcore as nc
    from normcore.check.probe import time_limit
    reports = []
    for name, checker in CHECKERS.items():
        fn = getattr(module, name, None)
        if callable(fn) and fn is not getattr(nc, name):
            with time_limit(timeout):
                reports.append(checker(fn))
    return reports


__all__ = [f"check_{name}" for name in CHECKERS] + [
    "check_module", "load_layers", "LoadError", "Report", "Property", "CHECKERS"]
