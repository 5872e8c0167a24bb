"""The book's own Sphinx extension: what each build was executed on, and its claims.

* Every page carries a line saying which data set (and seed offset) its
  notebooks were executed on, and whether CIFAR-10 was md5-verified. A build is
  one data set: the build directory is chosen per data set by ``./dev``.
* ``$NORMCORE_CLAIMS_DIR`` is pointed at ``<build>/claims`` before any chapter
  executes, so each chapter's :class:`normcore.evidence.Evidence` records its
  claims there (the kernels inherit the variable).
* The directive ``{claims-table}`` becomes, at write time (after every chapter
  has executed), the appendix table of every recorded claim, with the outcome
  on each data set whose build left records beside this one.
* The role ``{eval}`ev("key:format")``` shows a glued value. The chapters write
  their numbers this way so that JupyterLab (jupyterlab-myst evaluates the
  expression in the kernel, see :meth:`normcore.evidence.Evidence.__call__`) and
  the book show the same text; here it is myst-nb's ``{glue:text}`key:format```.
  myst-nb's own ``eval`` role needs a live kernel at build time (its "inline"
  execution mode), which the execution cache rules out; this role replaces it.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective



def _build_facts() -> dict:
    from normcore import data
    from normcore.data.dataset import default_dataset
    from normcore.seeds import seed_offset

    name = default_dataset()
    verified = None
    if name == "cifar10":
        verified = data.cifar10_verify_default()
    return {"dataset": name, "offset": seed_offset(), "verified": verified}


def _banner_html(facts: dict) -> str:
    from normcore.data import DISPLAY_NAMES

    name = facts["dataset"]
    parts = [f"Built on <strong>{DISPLAY_NAMES.get(name, name)}</strong> "
             f"(<span class=\"nc-data-set\">data set: {name}</span>)"]
    if facts["offset"]:
        parts.append(f"every seed shifted by {facts['offset']} (NORMCORE_SEED_OFFSET)")
    if facts["verified"] is False:
        parts.append("<strong>CIFAR-10 md5 sums not verified</strong>: these files may not "
                     "be the official data set (NORMCORE_CIFAR10_VERIFY=0)")
    return f'<p class="nc-build-info" style="font-size: 0.85em; color: #555;">{"; ".join(parts)}.</p>'


def _claims_dir(app) -> Path:
    return Path(app.outdir).parent / "claims"


def _on_config_inited(app, config) -> None:
    # Before any notebook executes: kernels started from here inherit it.
    os.environ.setdefault("NORMCORE_CLAIMS_DIR", str(_claims_dir(app)))
    app.env_facts = _build_facts()


def _on_doctree_read(app, doctree) -> None:
    facts = getattr(app, "env_facts", None) or _build_facts()
    banner = nodes.raw("", _banner_html(facts), format="html")
    sections = list(doctree.findall(nodes.section))
    if sections:
        title = sections[0].next_node(nodes.title)
        sections[0].insert(sections[0].index(title) + 1 if title is not None else 0, banner)
    else:
        doctree.insert(0, banner)


class claims_table(nodes.General, nodes.Element):
    """Placeholder filled in at write time, when every chapter has run."""


class ClaimsTable(SphinxDirective):
    def run(self):
        self.env.note_dependency(__file__)
        docs = getattr(self.env, "nc_claims_docs", set())
        docs.add(self.env.docname)
        self.env.nc_claims_docs = docs
        return [claims_table()]


def _always_reread(app, env, added, changed, removed):
    # The table depends on files the chapters write, not on its own source.
    return sorted(getattr(env, "nc_claims_docs", set()) - set(removed))


def _load_records(app) -> dict:
    """{dataset: {chapter: record}} from this build's claims and its sibling builds'."""
    here = _claims_dir(app)
    dirs = [here]
    # Builds sit side by side: _build/<key>/_build/claims (./dev's per-data-set
    # builds) or _build/claims (a plain jupyter-book build). Search from the
    # outermost _build folder among the nearest few ancestors.
    root = here.parent
    for p in list(here.parents)[:4]:
        if p.name == "_build":
            root = p
    if root.is_dir():
        dirs += sorted(p for p in root.glob("**/claims") if p.is_dir() and p != here)
    out: dict = {}
    for d in dirs:
        for f in sorted(d.glob("*.json")):
            try:
                rec = json.loads(f.read_text())
            except (OSError, ValueError):
                continue  # a record being rewritten by another build: skip, never guess
            offset = "0"
            if rec.get("claims"):
                offset = rec["claims"][0].get("seed_offset", "0")
            label = rec.get("dataset") or "?"
            if offset not in ("0", ""):
                label = f"{label} (seeds +{offset})"
            out.setdefault(label, {})[rec.get("chapter", f.stem)] = rec
    return out


def _cell(claim: dict | None) -> str:
    if claim is None:
        return '<td class="nc-claim-none">-</td>'
    m = claim["measured"]
    if "a_mean" in m and "b_mean" in m:
        nums = (f"{m['a_mean']:.3g} ± {m['a_se']:.2g} vs {m['b_mean']:.3g} ± {m['b_se']:.2g} "
                f"(n={m['n_a']}, {m['n_b']})")
    elif "a_mean" in m:
        nums = f"{m['a_mean']:.3g} ± {m['a_se']:.2g} vs {m['threshold']:.3g} (n={m['n_a']})"
    else:
        nums = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}"
                         for k, v in m.items())
    if claim["asserted"]:
        verdict = "holds" if claim["holds"] else "FAILS"
    else:
        verdict = "not claimed here (" + ("holds" if claim["holds"] else "does not hold") + ")"
    cls = "nc-claim-pass" if claim["holds"] else "nc-claim-open"
    return f'<td class="{cls}"><strong>{verdict}</strong><br>{html.escape(nums)}</td>'


def _table_html(records: dict, this_dataset: str) -> str:
    if not records:
        return ("<p><em>No claims were recorded in this build. Build the book with "
                "<code>./dev book</code> to execute the chapters.</em></p>")
    datasets = sorted(records, key=lambda d: (not d.startswith(this_dataset), d))
    chapters = sorted({c for recs in records.values() for c in recs})
    total = sum(len(r.get("claims", [])) for r in records.get(datasets[0], {}).values())
    head = "".join(f"<th>{html.escape(d)}</th>" for d in datasets)
    parts = [f"<p>{total} claims recorded on {html.escape(datasets[0])}.</p>"]
    for chapter in chapters:
        keys: list[tuple[str, dict]] = []
        for d in datasets:
            for c in records[d].get(chapter, {}).get("claims", []):
                if c["key"] not in [k for k, _ in keys]:
                    keys.append((c["key"], c))
        rows = []
        for key, first in keys:
            cells = "".join(_cell(next((c for c in records[d].get(chapter, {}).get("claims", [])
                                        if c["key"] == key), None)) for d in datasets)
            rows.append(f"<tr><td>{html.escape(first['sentence'])}<br><code>{html.escape(key)}"
                        f"</code>: {html.escape(first['criterion'])}</td>{cells}</tr>")
        parts.append(f'<h3>{html.escape(chapter)}</h3><div class="nc-claims-scroll">'
                     f'<table class="table nc-claims"><thead><tr><th>claim and test</th>{head}'
                     f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    return "\n".join(parts)


def _on_doctree_resolved(app, doctree, docname) -> None:
    for node in list(doctree.findall(claims_table)):
        facts = getattr(app, "env_facts", None) or _build_facts()
        node.replace_self(nodes.raw("", _table_html(_load_records(app), facts["dataset"]),
                                    format="html"))


_EVAL_GLUED = re.compile(r'^ev\("([A-Za-z_][^":]*(?::[^"]*)?)"\)$')


def _glued_text_role():
    from myst_nb.ext.glue.roles import PasteTextRole

    class GluedTextRole(PasteTextRole):
        """``{eval}`ev("key:format")``` → the glued ``key``, as ``{glue:text}``."""

        def run(self):
            match = _EVAL_GLUED.match(self.text.strip())
            if match is None:
                msg = (f'{{eval}} in this book takes ev("key") or ev("key:format") '
                       f"(a value the chapter glued with normcore.evidence), got {self.text!r}")
                return [], [self.inliner.reporter.warning(msg, line=self.line)]
            self.text = match.group(1)
            return super().run()

    return GluedTextRole()


def _add_eval_role(app) -> None:
    # After every extension's setup: myst-nb registers its own (kernel) eval role.
    app.add_role("eval", _glued_text_role(), override=True)


def _add_static(app, config) -> None:
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app):
    app.connect("config-inited", _add_static)
    app.add_css_file("normcore.css")
    app.connect("config-inited", _on_config_inited)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("builder-inited", _add_eval_role)
    app.add_node(claims_table)
    app.add_directive("claims-table", ClaimsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
