"""The checker's result: one pass/fail line per property, printable in a notebook.

A :class:`Report` is what every ``check_*`` function returns. It shows itself
as an HTML table in Jupyter (``_repr_html_``, or Markdown where HTML is not
rendered: ``_repr_markdown_``) and as plain text lines of at
most 80 characters elsewhere (``str(report)``), so the same object serves a
notebook cell and the command line.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field

__all__ = ["Property", "Report", "WIDTH"]

WIDTH = 80  # a terminal's and a notebook cell's width: reports wrap to it

PASS, FAIL, NOTE = "pass", "fail", "note"


@dataclass
class Property:
    """One checked property of the student's function.

    Attributes
    ----------
    name : str
        What was checked, e.g. ``"running statistics"``.
    status : str
        ``"pass"``, ``"fail"`` or ``"note"`` (a remark that is not a failure).
    detail : str
        One plain sentence: for a failure, the most likely mistake and the
        measured evidence; for a pass, optionally what was measured.
    diagnosis : str or None
        A stable identifier of the named mistake (e.g. ``"eps_outside_sqrt"``),
        or None when no known signature fits.
    more : tuple of str
        Further mistakes found together with ``diagnosis`` (one result can show
        two, e.g. statistics over the whole array and eps outside the root).
    """

    name: str
    status: str
    detail: str = ""
    diagnosis: str | None = None
    more: tuple = ()

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    @property
    def ids(self) -> tuple:
        """Every mistake this property names, ``diagnosis`` first."""
        return ((self.diagnosis,) if self.diagnosis else ()) + tuple(self.more)

    @property
    def tag(self) -> str:
        """``"[eps_outside_sqrt]"`` or ``"[a, b]"``; empty when nothing is named."""
        return f"[{', '.join(self.ids)}]" if self.ids else ""


@dataclass
class Report:
    """Everything one checker found about one student function.

    Attributes
    ----------
    layer : str
        The assignment's function name, e.g. ``"batchnorm_forward"``.
    properties : list of Property
    attempted : bool
        False when the function is still the assignment's stub (it raises
        ``NotImplementedError`` or returns only None).
    hint : str
        For a stub, one line on how to start.
    """

    layer: str
    properties: list[Property] = field(default_factory=list)
    attempted: bool = True
    hint: str = ""

    @property
    def passed(self) -> bool:
        """True when the function was attempted and no property failed."""
        return self.attempted and all(p.passed for p in self.properties)

    @property
    def failures(self) -> list[Property]:
        return [p for p in self.properties if not p.passed]

    @property
    def diagnoses(self) -> list[str]:
        """The identifiers of every named finding, failures first."""
        ordered = self.failures + [p for p in self.properties if p.passed]
        return [i for p in ordered for i in p.ids]

    @property
    def status(self) -> str:
        if not self.attempted:
            return "not attempted yet"
        return "passed" if self.passed else "FAILED"

    def summary(self) -> str:
        """The report's first line, e.g. ``batchnorm_forward: FAILED (1 of 7 checks)``."""
        if not self.attempted:
            return f"{self.layer}: not attempted yet"
        checks = [p for p in self.properties if p.status != NOTE]
        bad = len(self.failures)
        if bad:
            return f"{self.layer}: FAILED ({bad} of {len(checks)} checks)"
        return f"{self.layer}: passed ({len(checks)} checks)"

    def __str__(self) -> str:
        lines = [self.summary()]
        if not self.attempted:
            lines += textwrap.wrap(self.hint, WIDTH, initial_indent="  ",
                                   subsequent_indent="  ", break_on_hyphens=False)
            return "\n".join(lines)
        for p in self.properties:
            tag = {PASS: "ok  ", FAIL: "FAIL", NOTE: "note"}[p.status]
            text = p.name + (f": {p.detail}" if p.detail else "")
            if p.ids and p.status != PASS:
                text += f" {p.tag}"
            lines += textwrap.wrap(text, WIDTH, initial_indent=f"  {tag}  ",
                                   subsequent_indent=" " * 8, break_on_hyphens=False)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        """Markdown for renderers without HTML: a bold head and one bullet per property."""
        head = f"**`{self.layer}`**: {self.status}"
        if not self.attempted:
            return f"{head}\n\n{self.hint}\n"
        mark = {PASS: "ok", FAIL: "**FAIL**", NOTE: "note"}
        items = []
        for p in self.properties:
            diag = f" `{p.tag}`" if p.ids and p.status != PASS else ""
            items.append(f"- {mark[p.status]} {p.name}" + (f": {p.detail}" if p.detail else "")
                         + diag)
        return head + "\n\n" + "\n".join(items) + "\n"

    def _repr_html_(self) -> str:
        """An HTML table: one row per property, the failures' evidence beside them."""
        colour = {"passed": "#1a7f37", "FAILED": "#cf222e"}.get(self.status, "#6e7781")
        counts = self.summary().split(": ", 1)[1][len(self.status):]  # " (1 of 5 checks)"
        head = (f"<p><code>{html.escape(self.layer)}</code>: "
                f"<b style='color:{colour}'>{html.escape(self.status)}</b>"
                f"{html.escape(counts)}</p>")
        if not self.attempted:
            return head + f"<p>{html.escape(self.hint)}</p>"
        mark = {PASS: ("&#10003;", "#1a7f37"), FAIL: ("&#10007;", "#cf222e"),
                NOTE: ("&#8505;", "#6e7781")}
        cell = "style='vertical-align:top;text-align:left;padding:2px 8px 2px 0'"
        rows = []
        for p in self.properties:
            sym, col = mark[p.status]
            diag = (f" <code>{html.escape(p.tag)}</code>"
                    if p.ids and p.status != PASS else "")
            rows.append(f"<tr><td {cell}><b style='color:{col}'>{sym}</b></td>"
                        f"<td {cell[:-1]};white-space:nowrap'>{html.escape(p.name)}</td>"
                        f"<td {cell}>{html.escape(p.detail)}{diag}</td></tr>")
        return head + "<table>" + "".join(rows) + "</table>"
