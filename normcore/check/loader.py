"""Import a student's ``layers.py`` from the assignment's layout, robustly.

Students' files import sibling modules the checker does not need
(``from cs231n.layers import *``, ``from .fast_layers import *``, Cython
extensions) and older editions use Python 2 names (``xrange``, ``from
past.builtins import xrange``). :func:`load_layers` executes the file as a
module of a private package while a meta-path finder answers those imports
with stub modules: ``cs231n.layers`` re-exports normcore's layers, every other
sibling is empty, and a name imported from it is a placeholder that raises if
called. ``xrange`` is put in the module's namespace. The stubs are removed
again afterwards, so a real ``cs231n`` package is not shadowed.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import io
import os
import sys
import types
import warnings

from normcore.check.probe import one_line

__all__ = ["load_layers", "LoadError"]

_PACKAGE = "_normcore_student"  # the private package the file is loaded into
_STUBBED = ("cs231n", _PACKAGE, "past", "future", "builtins_stub")


class LoadError(ImportError):
    """The file could not be imported; ``str(err)`` is a one-line reason."""


class _StubModule(types.ModuleType):
    """A sibling module the checker does not need: any name is a placeholder."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def placeholder(*args, **kwargs):
            raise NotImplementedError(f"{self.__name__}.{name} is a stub of the checker")
        placeholder.__name__ = name
        return placeholder


def _fill(module: types.ModuleType) -> None:
    name = module.__name__
    if name in ("cs231n.layers", f"{_PACKAGE}.layers_reference"):
        import normcore as nc
        for attr in nc.__all__:
            setattr(module, attr, getattr(nc, attr))
        module.__all__ = list(nc.__all__)
    elif name in ("past.builtins", "future.builtins"):
        module.xrange = range
        module.range = range
        module.basestring = str
        module.unicode = str
        module.raw_input = input
    if name.split(".")[-1] == "gradient_check" or name == "cs231n.gradient_check":
        import normcore.gradient_check as gc
        for attr in gc.__all__:
            setattr(module, attr, getattr(gc, attr))


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] not in _STUBBED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        _fill(module)


@contextlib.contextmanager
def _stubs():
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in _STUBBED}
    for k in saved:
        del sys.modules[k]
    finder = _StubFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k.split(".")[0] in _STUBBED]:
            del sys.modules[k]
        sys.modules.update(saved)


def load_layers(path) -> types.ModuleType:
    """Import a student's ``layers.py`` and return it as a module.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``assignment2/cs231n/layers.py``.

    Returns
    -------
    module
        Its functions are the student's; ``module.__file__`` is ``path``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (misuse).
    LoadError
        If the file cannot be imported; the message is one line, e.g.
        ``"SyntaxError: invalid syntax (layers.py line 12)"``.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path must be an existing layers.py file, got {path!r}")
    try:
        with open(path, "rb") as fh:
            source = fh.read()
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        hint = " (a Python 2 print statement?)" if "print" in (exc.text or "") else ""
        raise LoadError(f"SyntaxError: {exc.msg} ({os.path.basename(path)} line "
                        f"{exc.lineno}){hint}") from None
    except (OSError, ValueError) as exc:
        raise LoadError(one_line(exc)) from None
    name = f"{_PACKAGE}.{os.path.splitext(os.path.basename(path))[0]}"
    module = types.ModuleType(name)
    module.__file__ = path
    module.__package__ = _PACKAGE
    module.xrange = range  # Python 2's name, still in older editions' loops
    with _stubs():
        import importlib
        importlib.import_module(_PACKAGE)
        sys.modules[name] = module
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, module.__dict__)
        except Exception as exc:  # the file's own error, reported in one line
            raise LoadError(one_line(exc)) from None
    return module
