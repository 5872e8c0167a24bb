"""What determines one training run (:class:`RunConfig`) and what it gives (:class:`RunResult`)."""

from __future__ import annotations

import dataclasses
import json
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from normcore import blocks, optim
from normcore.data import DATASETS
from normcore.validation import check_choice, check_positive_int, check_real

# Derived from where the choices live, so a new norm or rule needs no edit here.
NORMALIZATIONS = (None, *blocks.NORMALIZATIONS)
UPDATE_RULES = tuple(optim.__all__)
DTYPES = ("float32", "float64")
METRICS = ("best_val_acc", "best_train_acc", "final_loss", "diverged", "seconds", "cpu_seconds")

# The code whose change changes a result: the cache key hashes its source.
TRAINING_MODULES = ("normcore.layers", "normcore.normalization", "normcore.blocks",
                    "normcore.fc_net", "normcore.optim", "normcore.solver",
                    "normcore.sweeps.training", "normcore.sweeps.measures")
CACHE_FORMAT = "normcore-sweep-run-v3"
#: What a run can measure besides its histories (``RunConfig.measure``); the
#: values land in ``RunResult.extras`` (see :mod:`normcore.sweeps.measures`).
MEASURES = ("test_statistics", "weight_norms")
REG_SCOPES = ("all", "last")
# Fields added after the first cached runs: left out of canonical() at their
# defaults, so every earlier configuration keeps its random draws.
_LATER_FIELDS = {"norm_groups": None, "reg_scope": "all", "measure": ()}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run.

    The defaults are the assignment's deep-network experiment (five hidden layers
    of 100, weight scale 2e-2, Adam at 1e-3, batch 50, 10 epochs, 1000 training
    examples). Values are checked on construction; ``hidden_dims`` may be given
    as a list and is stored as a tuple, NumPy scalars are stored as Python numbers.

    Attributes
    ----------
    hidden_dims : tuple of int
    normalization : {None, "batchnorm", "layernorm", "groupnorm"}
    norm_groups : int, optional
        Groups per hidden layer for "groupnorm" (required there, must divide
        every hidden width); None otherwise.
    weight_scale, reg : float >= 0
    reg_scope : {"all", "last"}
        Which weights ``reg`` penalizes: all, or only the last layer's (the one
        no normalization follows); see :class:`~normcore.fc_net.FullyConnectedNet`.
    dropout_keep_ratio : float in (0, 1]
    update_rule : {"sgd", "sgd_momentum", "rmsprop", "adam"}
    learning_rate, lr_decay : float > 0
    batch_size, num_epochs, num_train : int > 0
    dataset : str, optional
        ``None`` means ``$NORMCORE_DATASET``, else "mnist1d" (see
        :func:`normcore.data.load_dataset`).
    num_val : int, optional
        Validation examples (default: all of the data set's).
    seed : int >= 0
        Which repetition this is; the run's random generators derive from the
        whole configuration, this field included.
    dtype : {"float32", "float64"}
        Precision of the data and the network.
    measure : tuple of str
        Extra measurements from :data:`MEASURES` ("test_statistics" needs batch
        norm); their values are in ``RunResult.extras``.
    """

    hidden_dims: tuple[int, ...] = (100,) * 5
    normalization: str | None = None
    weight_scale: float = 2e-2
    reg: float = 0.0
    dropout_keep_ratio: float = 1.0
    update_rule: str = "adam"
    learning_rate: float = 1e-3
    lr_decay: float = 1.0
    batch_size: int = 50
    num_epochs: int = 10
    dataset: str | None = None
    num_train: int = 1000
    num_val: int | None = None
    seed: int = 0
    dtype: str = "float32"
    norm_groups: int | None = None
    reg_scope: str = "all"
    measure: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        dims = self.hidden_dims
        if isinstance(dims, np.ndarray):
            dims = dims.tolist()
        if not isinstance(dims, (tuple, list)) or not dims:
            raise TypeError(f"hidden_dims must be a non-empty tuple of positive ints, got {dims!r}")
        put("hidden_dims", tuple(check_positive_int(f"hidden_dims[{i}]", d)
                                 for i, d in enumerate(dims)))
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        put("weight_scale", check_real("weight_scale", self.weight_scale, low=0.0))
        put("reg", check_real("reg", self.reg, low=0.0))
        put("dropout_keep_ratio", check_real("dropout_keep_ratio", self.dropout_keep_ratio,
                                             low=0.0, high=1.0, low_open=True))
        check_choice("update_rule", self.update_rule, UPDATE_RULES)
        put("learning_rate", check_real("learning_rate", self.learning_rate, low=0.0, low_open=True))
        put("lr_decay", check_real("lr_decay", self.lr_decay, low=0.0, low_open=True))
        for name in ("batch_size", "num_epochs", "num_train"):
            put(name, check_positive_int(name, getattr(self, name)))
        if self.num_val is not None:
            put("num_val", check_positive_int("num_val", self.num_val))
        if self.dataset is not None:
            check_choice("dataset", self.dataset, DATASETS)
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise TypeError(f"seed must be a non-negative int, got {self.seed!r}")
        put("seed", int(self.seed))
        check_choice("dtype", self.dtype, DTYPES)
        if self.norm_groups is not None:
            put("norm_groups", check_positive_int("norm_groups", self.norm_groups))
        if (self.normalization == "groupnorm") != (self.norm_groups is not None):
            raise ValueError("norm_groups must be given exactly when normalization='groupnorm', "
                             f"got norm_groups={self.norm_groups!r} with "
                             f"normalization={self.normalization!r}")
        if self.norm_groups is not None and any(h % self.norm_groups for h in self.hidden_dims):
            raise ValueError(f"norm_groups={self.norm_groups} must divide every hidden width, "
                             f"got hidden_dims={self.hidden_dims}")
        check_choice("reg_scope", self.reg_scope, REG_SCOPES)
        measure = self.measure
        if isinstance(measure, (str, bytes)) or not isinstance(measure, (tuple, list)):
            raise TypeError(f"measure must be a tuple of names from {MEASURES}, got {measure!r}")
        for m in measure:
            check_choice("measure", m, MEASURES)
        put("measure", tuple(sorted(set(measure))))
        if "test_statistics" in self.measure and self.normalization != "batchnorm":
            raise ValueError("measure 'test_statistics' needs normalization='batchnorm', "
                             f"got {self.normalization!r}")

    def canonical(self) -> str:
        """A JSON text that is equal exactly when two configurations are."""
        d = dataclasses.asdict(self)
        for name, default in _LATER_FIELDS.items():
            if d[name] == default:
                del d[name]
        return json.dumps(d, sort_keys=True)


@dataclasses.dataclass(frozen=True, eq=False)
class RunResult:
    """The outcome of one run (arrays are float64; compare them with NumPy).

    Attributes
    ----------
    config : RunConfig
    loss_history : ndarray, shape (iterations,)
        Training loss at every iteration (a diverged run stops early; its last
        entry is non-finite).
    train_acc_history, val_acc_history : ndarray, shape (checks,)
        Accuracy before training and after every epoch.
    best_val_acc, best_train_acc : float
        Maxima of the histories.
    final_loss : float
        Mean of the last 100 losses (the assignment's "final training loss");
        non-finite for a diverged run.
    diverged : bool
    seconds : float
        Wall time of the training (when it was trained, if read from the cache).
    cpu_seconds : float
        CPU time of the training process meanwhile (all its threads). Well below
        ``seconds``: the run waited for a core, e.g. other programs were busy.
    extras : dict of str to float or ndarray
        What ``config.measure`` asked for (see :mod:`normcore.sweeps.measures`);
        empty by default.
    """

    config: RunConfig
    loss_history: np.ndarray
    train_acc_history: np.ndarray
    val_acc_history: np.ndarray
    best_val_acc: float
    best_train_acc: float
    final_loss: float
    diverged: bool
    seconds: float
    cpu_seconds: float
    extras: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        return {"config": dataclasses.asdict(self.config),
                "loss_history": self.loss_history.tolist(),
                "train_acc_history": self.train_acc_history.tolist(),
                "val_acc_history": self.val_acc_history.tolist(),
                "best_val_acc": self.best_val_acc, "best_train_acc": self.best_train_acc,
                "final_loss": self.final_loss, "diverged": self.diverged,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "extras": {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                           for k, v in self.extras.items()}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "RunResult":
        """Inverse of :meth:`to_json`; raises on anything malformed."""
        cfg = dict(d["config"])
        cfg["hidden_dims"] = tuple(cfg["hidden_dims"])
        arrays = {k: np.asarray(d[k], dtype=np.float64)
                  for k in ("loss_history", "train_acc_history", "val_acc_history")}
        for k, a in arrays.items():
            if a.ndim != 1:
                raise ValueError(f"{k} must be 1-D")
        if not isinstance(d["diverged"], bool):
            raise ValueError("diverged must be a bool")
        raw_extras = d.get("extras", {})
        if not isinstance(raw_extras, dict):
            raise ValueError("extras must be a dict")
        # Lists are measured series (arrays); everything else is one number.
        extras = {str(k): (np.asarray(v, dtype=np.float64) if isinstance(v, list) else float(v))
                  for k, v in raw_extras.items()}
        return cls(config=RunConfig(**cfg), **arrays,
                   best_val_acc=float(d["best_val_acc"]), best_train_acc=float(d["best_train_acc"]),
                   final_loss=float(d["final_loss"]), diverged=d["diverged"],
                   seconds=float(d["seconds"]), cpu_seconds=float(d["cpu_seconds"]),
                   extras=extras)
