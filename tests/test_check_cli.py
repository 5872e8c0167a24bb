"""``python -m normcore.check FILE`` and the loader behind it, on students' files.

The real student's file from the source notebook (../shared/seed/layers.py) is
the main witness: its known bugs (var + eps stored as the running variance, a
softmax whose probabilities underflow at large scores) must be reported, its
``pass`` stubs must be "not attempted yet", and the exit status must be 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from normcore.check import LoadError, check_module, load_layers
from normcore.check.__main__ import main

# The project's shared material sits next to the repository; NORMCORE_SEED_LAYERS
# points elsewhere (a clone in another place).
SEED = Path(os.environ.get("NORMCORE_SEED_LAYERS",
                           Path(__file__).resolve().parents[2] / "shared/seed/layers.py"))

# A file from an older edition: Python 2 names, tabs and print statements,
# sibling imports the checker does not need, a module not installed here.
PY2_FILE = (
    "from __future__ import print_function\n"
    "import numpy as np\n"
    "import cPickle as pickle\n"
    "from past.builtins import xrange\n"
    "from cs231n.fast_layers import *\n"
    "from cs231n.fast_layers import conv_forward_fast\n"
    "from cs231n.layer_utils import affine_relu_forward\n"
    "from .im2col import im2col_indices\n"
    "import not_installed_anywhere_xyz as nix\n"
    "\n"
    "def batchnorm_forward(x, gamma, beta, bn_param):\n"
    "        mode = bn_param['mode']\n"
    "\teps = bn_param.get('eps', 1e-5)\n"  # a tab where the line above has 8 spaces
    "        momentum = bn_param.get('momentum', 0.9)\n"
    "        N, D = x.shape\n"
    "        rm = bn_param.get('running_mean', np.zeros(D))\n"
    "        rv = bn_param.get('running_var', np.zeros(D))\n"
    "        if mode == 'train':\n"
    "            mu = np.zeros(D)\n"
    "            for i in xrange(N):\n"
    "                mu += x[i] / N\n"
    "            var = ((x - mu) ** 2).mean(axis=0)\n"
    "            bn_param['running_mean'] = momentum * rm + (1 - momentum) * mu\n"
    "            bn_param['running_var'] = momentum * rv + (1 - momentum) * var\n"
    "        else:\n"
    "            mu, var = rm, rv\n"
    "        print 'batchnorm', mode\n"
    "        out = gamma * (x - mu) / np.sqrt(var + eps) + beta\n"
    "        return out, (x, mu, var, eps, gamma)\n"
    "\n"
    "def relu_forward(x):\n"
    "    return conv_forward_fast(x), x\n"  # a placeholder: it raises when called
)

SKELETON = '''
import numpy as np

def batchnorm_forward(x, gamma, beta, bn_param):
    out, cache = None, None
    # TODO: Implement the training-time forward pass for batch norm.
    raise NotImplementedError

def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    pass
    return dx, dgamma, dbeta
'''


def write(tmp_path, text, name="layers.py"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def cli(path, capsys):
    code = main([path])
    out = capsys.readouterr().out
    return code, out


def blocks(out: str) -> dict[str, str]:
    """Each layer's report, by layer name."""
    found, name = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" ") and ": " in line:
            name = line.split(":")[0]
            found[name] = line + "\n"
        elif name and line.startswith(" "):
            found[name] += line + "\n"
    return found


@pytest.mark.skipif(not SEED.is_file(), reason=f"the student's file is not at {SEED}")
def test_seed_file_reports_its_known_bugs_and_stubs(capsys):
    code, out = cli(str(SEED), capsys)
    assert code == 1
    rep = blocks(out)
    bn = rep["batchnorm_forward"]
    assert bn.startswith("batchnorm_forward: FAILED (1 of")
    assert "[eps_in_running_var]" in bn and "running_var is 1.0e-05 larger" in bn
    assert "[softmax_underflow]" in rep["softmax_loss"]
    stubs = ["spatial_batchnorm_forward", "spatial_batchnorm_backward",
             "spatial_groupnorm_forward", "spatial_groupnorm_backward"]
    for layer in stubs:
        assert rep[layer].startswith(f"{layer}: not attempted yet\n  Start")
    passed = {name for name, text in rep.items() if ": passed (" in text.splitlines()[0]}
    assert passed == {"affine_forward", "affine_backward", "relu_forward", "relu_backward",
                      "batchnorm_backward", "batchnorm_backward_alt", "layernorm_forward",
                      "layernorm_backward", "dropout_forward", "dropout_backward"}
    assert ("not attempted yet, no checker here: conv_forward_naive, conv_backward_naive,\n"
            "  max_pool_forward_naive, max_pool_backward_naive\n") in out
    assert out.rstrip().endswith("16 layers: 10 passed, 2 failed (softmax_loss, "
                                 "batchnorm_forward), 4 not\n  attempted yet")
    assert max(map(len, out.splitlines())) <= 80


@pytest.mark.skipif(not SEED.is_file(), reason=f"the student's file is not at {SEED}")
def test_seed_file_from_a_shell():
    """The documented command, as a student types it: report on stdout, exit 1."""
    run = subprocess.run([sys.executable, "-m", "normcore.check", str(SEED)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stderr == ""
    assert "[eps_in_running_var]" in run.stdout


def test_python2_file_loads_and_is_checked(tmp_path, capsys):
    path = write(tmp_path, PY2_FILE)
    module = load_layers(path)
    notes = " | ".join(module.__normcore_notes__)
    assert "print statements" in notes and "tabs expanded" in notes
    assert "'not_installed_anywhere_xyz' is not installed" in notes
    reports = {r.layer: r for r in check_module(module)}
    assert reports["batchnorm_forward"].passed, str(reports["batchnorm_forward"])
    relu = reports["relu_forward"]  # calls a stub of the checker: an error, not a skeleton
    assert relu.attempted and not relu.passed
    assert "conv_forward_fast is not loaded by the checker" in relu.failures[0].detail
    code, out = cli(path, capsys)
    assert code == 1 and out.startswith("note: ")
    assert max(map(len, out.splitlines())) <= 80
    assert out.rstrip().endswith("1 failed (relu_forward), 0 not attempted yet")


def test_loader_leaves_no_stub_modules_behind(tmp_path):
    before = set(sys.modules)
    load_layers(write(tmp_path, PY2_FILE))
    added = {m for m in set(sys.modules) - before
             if m.split(".")[0] in ("cs231n", "past", "cPickle", "_normcore_student",
                                    "not_installed_anywhere_xyz")}
    assert not added


@pytest.mark.parametrize("text, reason", [
    ("def f(:\n    pass\n", "SyntaxError: invalid syntax (layers.py line 1)"),
    ("import numpy as np\nx = undefined_name + 1\n",
     "NameError: name 'undefined_name' is not defined (layers.py line 2)"),
    ("raise SystemExit('bye')\n", "SystemExit: bye (layers.py line 1)"),
])
def test_file_that_cannot_be_imported_gets_one_line(tmp_path, capsys, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(LoadError) as err:
        load_layers(path)
    assert str(err.value) == reason
    code, out = cli(path, capsys)
    assert code == 1 and out == f"{path}: cannot be imported: {reason}\n"


def test_unfilled_skeleton_exits_0_with_how_to_start(tmp_path, capsys):
    code, out = cli(write(tmp_path, SKELETON), capsys)
    assert code == 0
    rep = blocks(out)
    summary = rep.pop("2 layers")
    assert set(rep) == {"batchnorm_forward", "batchnorm_backward"}
    assert all(": not attempted yet\n  Start" in text for text in rep.values())
    assert summary.startswith("2 layers: 0 passed, 0 failed, 2 not attempted yet")
    assert "Traceback" not in out


def test_all_passing_file_exits_0_and_imported_layers_are_not_the_students(
        tmp_path, capsys):
    code, out = cli(write(tmp_path, "from cs231n.layers import *\n"
                          "from normcore import batchnorm_forward\n"
                          "def relu_forward(x):\n    return x * (x > 0), x\n"), capsys)
    assert code == 0 and out.startswith("relu_forward: passed")
    assert out.endswith("\n1 layer: 1 passed, 0 failed, 0 not attempted yet\n")


def test_assignment_folder_stands_for_its_layers_py(tmp_path, capsys):
    (tmp_path / "cs231n").mkdir()
    write(tmp_path / "cs231n", SKELETON)
    code, out = cli(str(tmp_path), capsys)
    assert code == 0 and out.startswith("batchnorm_forward: not attempted yet")


def test_file_without_layers_and_missing_file(tmp_path, capsys):
    code, out = cli(write(tmp_path, "import numpy as np\n"), capsys)
    assert code == 0 and "defines none of the assignment's layers" in out
    assert main([str(tmp_path / "nope.py")]) == 2
    assert "path must be an existing layers.py file" in capsys.readouterr().err


def test_print_statement_that_cannot_be_rescued_names_print(tmp_path):
    with pytest.raises(LoadError, match=r"line 2\) \(a Python 2 print statement\?\)"):
        load_layers(write(tmp_path, textwrap.dedent("""\
            def f(x):
                print "x = %d" % (
                    x)
            """)))


def test_loader_misuse_names_the_argument(tmp_path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_layers(42)
    with pytest.raises(FileNotFoundError, match="path must be an existing layers.py"):
        load_layers(tmp_path)  # a folder: the CLI resolves folders, the loader does not


def test_endless_loop_fails_that_layer_instead_of_hanging(tmp_path, capsys):
    path = write(tmp_path, "import numpy as np\n"
                 "def relu_forward(x):\n    while True:\n        x = x + 0\n"
                 "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n")
    code = main([path, "--timeout", "0.5"])
    rep = blocks(capsys.readouterr().out)
    assert code == 1
    assert "raised Timeout: no result within 0.5 s" in "".join(rep["relu_forward"].split("\n"))
    # Its backward is checked on normcore's values in the assignment's cache layout,
    # and the report says why.
    assert rep["relu_backward"].startswith("relu_backward: passed")
    assert "the cache came from normcore's relu_forward" in " ".join(
        rep["relu_backward"].split())
