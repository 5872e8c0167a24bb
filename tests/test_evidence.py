"""normcore.evidence: a claim is glued, checked with a margin from the seeds, and recorded."""

import json

import numpy as np
import pytest

from normcore.evidence import CLAIMS_DIR_ENV, ClaimFailed, Evidence, mean_se


def glue_into(store):
    def glue(key, value, display=True):
        assert display is False  # prose numbers are glued, never printed
        store[key] = value
    return glue


def test_mean_se_matches_the_textbook_formula():
    x = np.array([0.1, 0.4, 0.2, 0.3])
    m, se = mean_se(x)
    assert m == pytest.approx(0.25)
    assert se == pytest.approx(np.std(x, ddof=1) / 2)
    assert mean_se([3.0]) == (3.0, 0.0)


def test_greater_holds_beyond_two_standard_errors(tmp_path):
    store = {}
    ev = Evidence("ch", glue=glue_into(store), dataset="mnist1d", record_dir=tmp_path)
    a, b = [0.50, 0.52, 0.51, 0.49, 0.50], [0.40, 0.41, 0.39, 0.42, 0.40]
    claim = ev.greater("k", "A beats B.", a, b)
    assert claim.holds and claim["asserted"]
    assert store["k_a"] == "0.504 ± 0.005"
    assert store["k_n"] == 5
    rec = json.loads((tmp_path / "ch.json").read_text())
    assert rec["claims"][0]["key"] == "k"
    assert rec["claims"][0]["measured"]["diff"] == pytest.approx(0.504 - 0.404)


def test_a_difference_inside_the_noise_is_not_a_finding(tmp_path):
    # Means differ by 0.01 but the seeds scatter by ~0.05: 'greater' must fail,
    # 'indistinguishable' must hold. This is the slack the old asserts allowed.
    a = [0.50, 0.58, 0.45, 0.55, 0.47]
    b = [0.49, 0.56, 0.44, 0.53, 0.48]
    ev = Evidence("ch", dataset="mnist1d", record_dir=tmp_path)
    with pytest.raises(ClaimFailed, match="does not hold"):
        ev.greater("k1", "A beats B.", a, b)
    assert ev.indistinguishable("k2", "A and B cannot be told apart.", a, b).holds
    assert ev.less("k3", "B beats A.", b, [0.9, 0.91, 0.92]).holds


def test_paired_uses_the_spread_of_the_differences():
    a = np.array([0.3, 0.5, 0.7, 0.4, 0.6])
    b = a - 0.02  # a constant small lead, hidden by the spread between seeds
    ev = Evidence("ch")
    with pytest.raises(ClaimFailed):
        ev.greater("welch", "A beats B.", a, b)
    assert ev.greater("paired", "A beats B, seed by seed.", a, b + 1e-3 * np.array([0, 1, 0, 1, 0]),
                      paired=True).holds


def test_above_and_below():
    ev = Evidence("ch")
    assert ev.above("up", "Above chance.", [0.3, 0.31, 0.29], 0.1).holds
    with pytest.raises(ClaimFailed):
        ev.below("down", "Below chance.", [0.3, 0.31, 0.29], 0.1)


def test_scoped_claim_is_recorded_not_asserted_elsewhere(tmp_path):
    ev = Evidence("ch", dataset="cifar10", record_dir=tmp_path)
    claim = ev.greater("k", "On MNIST-1D, A beats B.", [0.1, 0.11], [0.5, 0.52], on=("mnist1d",))
    assert not claim.holds and not claim["asserted"]
    rec = json.loads((tmp_path / "ch.json").read_text())["claims"][0]
    assert rec["claimed_on"] == ["mnist1d"] and rec["dataset"] == "cifar10"


def test_check_records_a_deterministic_claim():
    ev = Evidence("ch")
    assert ev.check("grad", "The gradients agree.", True, {"max_rel_error": 1e-10},
                    "max relative error < 1e-8").holds
    with pytest.raises(ClaimFailed, match="grad2"):
        ev.check("grad2", "The gradients agree.", False, {"max_rel_error": 1e-3},
                 "max relative error < 1e-8")


def test_records_go_where_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.setenv(CLAIMS_DIR_ENV, str(tmp_path))
    Evidence("ch7").above("k", "Positive.", [1.0, 1.1], 0.0)
    assert json.loads((tmp_path / "ch7.json").read_text())["claims"][0]["holds"] is True


def test_a_new_execution_replaces_the_old_record(tmp_path):
    Evidence("ch", record_dir=tmp_path).above("old", "Positive.", [1.0, 1.1], 0.0)
    Evidence("ch", record_dir=tmp_path)
    assert json.loads((tmp_path / "ch.json").read_text())["claims"] == []


def test_bad_input_names_the_argument():
    ev = Evidence("ch")
    with pytest.raises(ValueError, match="k: a must be finite"):
        ev.greater("k", "s", [np.nan, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least one value"):
        ev.above("k", "s", [], 0.0)
    with pytest.raises(TypeError, match="on must be"):
        ev.above("k", "s", [1.0], 0.0, on="mnist1d")
    ev.above("dup", "s", [1.0], 0.0)
    with pytest.raises(ValueError, match="already a claim"):
        ev.above("dup", "s", [1.0], 0.0)
    with pytest.raises(TypeError, match="chapter"):
        Evidence("")


def test_numpy_scalars_are_glued_as_python_numbers():
    glued = {}
    ev = Evidence("ch", glue=lambda k, v, display: glued.__setitem__(k, v))
    ev.glue("n", np.float64(0.25))
    ev.glue("k", np.int64(3))
    # myst-nb formats {glue:text}`n:.2f` from the value's text/plain repr.
    assert repr(glued["n"]) == "0.25" and repr(glued["k"]) == "3"


def test_a_claim_displays_nothing_in_a_notebook():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    ev = Evidence("ch")
    claim = ev.above("k", "x is positive.", [1.0, 1.1, 0.9], 0.0)
    shell = InteractiveShell.instance()
    with capture_output() as out:
        shell.display_formatter.format(claim)  # what a cell's last expression goes through
        from IPython.display import display
        display(claim)
    assert out.outputs == [] and out.stdout == ""
    assert "x is positive." in str(claim)  # print() still shows the record


@pytest.mark.parametrize("value, spec", [
    (0.123456, ""), (0.123456, ".3f"), (0.25, ".0%"), (3, ""), (3, "d"), (12.0, "d"),
    (1.5e-9, ".1e"), ("mnist1d", ""), ("MNIST-1D", "s"), ("it's", ""), (7, ".2f"),
    (0.0312, "+.3f"), (True, ""),
])
def test_ev_call_shows_what_glue_text_shows_in_the_book(value, spec):
    # The prose's {eval}`ev("key:spec")` is evaluated by jupyterlab-myst in the kernel
    # and read from the glued outputs by the book's build (myst-nb's glue:text):
    # both must print the same text.
    from IPython.core.interactiveshell import InteractiveShell
    from myst_nb.core.variables import format_plain_text

    ev = Evidence("ch", glue=glue_into({}))
    ev.glue("k", value)
    book_text_plain = InteractiveShell.instance().display_formatter.format(value)[0]["text/plain"]
    expected = format_plain_text(book_text_plain, spec or "s")
    shown = ev(f"k:{spec}" if spec else "k")
    assert str(shown) == expected
    # In JupyterLab the expression's text/plain repr is shown: no quotes around it.
    assert repr(shown) == expected


def test_ev_call_names_a_missing_or_malformed_key():
    ev = Evidence("ch04")
    ev.glue("known", 1.0)
    with pytest.raises(KeyError, match="'unknown' has not been glued in ch04"):
        ev("unknown")
    with pytest.raises(TypeError, match="spec must be a str"):
        ev(3)
    with pytest.raises(ValueError):
        ev("known:.3q")  # not a format spec: format() says so


def test_chapters_glue_only_through_evidence():
    # JupyterLab shows a number by evaluating ev("key") in the kernel, which knows only
    # what went through Evidence.glue: a direct myst_nb.glue(...) would work in the
    # book and show an error in JupyterLab.
    import ast
    import json
    from pathlib import Path

    direct = []
    for nb in sorted(Path(__file__).resolve().parent.parent.glob("book/*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] != "code":
                continue
            # IPython magics are not Python: each becomes an Ellipsis at its indentation.
            src = "\n".join(line[:len(line) - len(line.lstrip())] + "..."
                            if line.lstrip().startswith(("%", "!")) else line
                            for line in "".join(cell["source"]).splitlines())
            for node in ast.walk(ast.parse(src)):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "glue"):
                    direct.append(f"{nb.name} cell {i}")
    assert not direct, f"glue(...) called directly, not through Evidence: {direct}"
