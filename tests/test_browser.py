"""The built book in a real browser: offline, typeset, and with sliders that work.

Serves ``_build/html`` on 127.0.0.1 and opens every chapter of ``_toc.yml`` in
headless Chromium (driven by Playwright). Per page:

* no request leaves 127.0.0.1 (all others are aborted and reported);
* no 404 (fonts and scripts included);
* no page error or console error except the two known harmless ones;
* math is typeset by MathJax where the page has math;
* every ``SelectionSlider`` moved through all its positions shows a different
  figure at each (keyboard: the slider handle takes arrow keys);
* a page built with widget views has at least one slider.

A screenshot of every page goes to ``test-artifacts/screenshots/`` (pass or fail).

Needs a built book (``./dev book``) and a Chromium: ``$NORMCORE_CHROMIUM``,
``/usr/bin/chromium``, one on PATH, or Playwright's own. Without them the tests
skip, except under ``CI=true``, where they fail. ``NORMCORE_BOOK_ROOT`` points
the test at another book (a folder with ``_toc.yml`` and ``_build/html``);
``NORMCORE_BOOK_HTML`` at another built site (``./dev test`` sets it to the default build).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture reports the missing package
    PlaywrightTimeout = TimeoutError

ROOT = Path(__file__).resolve().parent.parent
BOOK_ROOT = Path(os.environ.get("NORMCORE_BOOK_ROOT", ROOT))
# ./dev test names the default build it made; by hand, _build/html links to it.
HTML = Path(os.environ.get("NORMCORE_BOOK_HTML") or BOOK_ROOT / "_build" / "html")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Jupyter Book 1's known noise: sphinx-thebe emits its inline script twice, and
# the theme logs an empty stored theme mode.
HARMLESS = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode")

# Chapters that show sliders. The check below is driven by what the built page
# contains (widget views); this list additionally catches a chapter that lost its
# widgets altogether.
WIDGET_CHAPTERS = ("book/01_forward", "book/04_weight_init", "book/05_batch_size",
                   "book/06_layer_norm", "book/07_beyond")

# Generous: MathJax and the 3.6 MB widget bundle load on a shared 2-core machine.
RENDER_TIMEOUT_MS = 30_000


def unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


def toc_pages() -> list[str]:
    """Every page named in ``_toc.yml`` (root first), as Sphinx docnames."""
    toc_file = BOOK_ROOT / "_toc.yml"
    if not toc_file.is_file():
        return []
    toc = yaml.safe_load(toc_file.read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", p) for p in pages]


def find_chromium() -> str | None:
    """Path of a Chromium to drive, or None to try Playwright's bundled one."""
    env = os.environ.get("NORMCORE_CHROMIUM")
    if env:
        return env
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files; records what it could not serve instead of logging to stderr."""

    missing: list[str]

    def log_message(self, fmt, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        # Browsers probe /favicon.ico on every site; the book has none by design.
        if urlparse(self.path).path != "/favicon.ico":
            self.missing.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").is_file():
        unavailable(f"no built book in {HTML}: build it with `./dev book`")
    missing: list[str] = []
    handler = functools.partial(type("H", (_Handler,), {"missing": missing}), directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", missing
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("playwright is not installed: `pip install playwright`")
    executable = find_chromium()
    pw = sync_playwright().start()
    try:
        try:
            b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as err:
            unavailable(f"no usable Chromium ({executable or 'Playwright bundled'}: "
                        f"{str(err).splitlines()[0]}); install one with `sudo apt-get install "
                        "chromium` or `python -m playwright install chromium`, or set "
                        "NORMCORE_CHROMIUM")
        yield b
        b.close()
    finally:
        pw.stop()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname == "127.0.0.1"


_SHOWN_IMAGES = """(h) => {
    const box = h.closest('.widget-vbox');
    return box ? Array.from(box.querySelectorAll('img')).filter(
        img => img.offsetParent !== null && img.getBoundingClientRect().width > 0) : [];
}"""


def visible_frame(page, handle) -> str:
    """SHA-256 of the bytes of the one visible image in the slider's widget box.

    The widget manager shows each PNG through its own ``blob:`` URL, so distinct
    URLs prove nothing; the image content must differ.
    """
    try:
        # Right after a switch the new frame may not be laid out yet.
        page.wait_for_function(f"(h) => ({_SHOWN_IMAGES})(h).length === 1", arg=handle,
                               timeout=5_000)
    except PlaywrightTimeout:
        n = handle.evaluate(f"(h) => ({_SHOWN_IMAGES})(h).length")
        return f"{n} visible images"
    return handle.evaluate(f"""async (h) => {{
        const img = ({_SHOWN_IMAGES})(h)[0];
        await img.decode().catch(() => null);
        if (img.naturalWidth === 0) return 'image not decoded';
        const bytes = await (await fetch(img.src)).arrayBuffer();
        const digest = await crypto.subtle.digest('SHA-256', bytes);
        return 'sha256:' + Array.from(new Uint8Array(digest))
            .map(b => b.toString(16).padStart(2, '0')).join('');
    }}""")


def move_through(page, handle) -> list[tuple[str, str | None]]:
    """Press ArrowRight from the first position to the last; (readout, frame) at each."""
    handle.focus()
    page.keyboard.press("Home")
    last = int(float(handle.get_attribute("aria-valuemax")))
    seen = []
    for pos in range(last + 1):
        if pos:
            page.keyboard.press("ArrowRight")
        page.wait_for_function("([h, p]) => Number(h.getAttribute('aria-valuenow')) === p",
                               arg=[handle, pos], timeout=5_000)
        readout = handle.evaluate(
            "(h) => (h.closest('.widget-slider').querySelector('.widget-readout') || {}).textContent")
        seen.append((readout, visible_frame(page, handle)))
    return seen


PAGES = toc_pages()


@pytest.mark.parametrize("docname", PAGES or ["(no _toc.yml)"])
def test_chapter_in_browser(docname, server, browser):
    if not PAGES:
        unavailable(f"no _toc.yml in {BOOK_ROOT}")
    base, missing = server
    html_file = HTML / f"{docname}.html"
    assert html_file.is_file(), f"{docname} is in _toc.yml but {html_file} was not built"
    source = html_file.read_text(encoding="utf-8")
    n_widget_views = source.count('type="application/vnd.jupyter.widget-view+json"')
    has_math = bool(re.search(r'class="math[ "]', source))

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside, errors = [], []

    def route(r):
        if is_local(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
    missing.clear()
    shot = SCREENSHOTS / f"{docname.replace('/', '__')}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{base}/{docname}.html", wait_until="load")
        if has_math:
            # Every math element must end up holding MathJax output (nothing left raw).
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.math'))"
                ".every(el => el.querySelector('mjx-container'))", timeout=RENDER_TIMEOUT_MS)
            assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
        sliders = []
        if n_widget_views:
            # The widget manager puts each view into a div.widget-subarea it inserts.
            page.wait_for_function(
                "(n) => document.querySelectorAll('.widget-subarea > *').length >= n",
                arg=n_widget_views, timeout=RENDER_TIMEOUT_MS)
            sliders = page.locator(".widget-slider .noUi-handle").element_handles()
            assert sliders, ("the page has widget output but no slider (a progress bar saved "
                             "as a widget? chapters should pass progress=False)")
        if docname in WIDGET_CHAPTERS:
            assert n_widget_views, f"{docname} should show sliders but has no widget output"
        for k, handle in enumerate(sliders):
            handle.scroll_into_view_if_needed()
            seen = move_through(page, handle)
            frames = [f for _, f in seen]
            assert all(f.startswith("sha256:") for f in frames), \
                f"slider {k}: no single visible figure at some position: {frames}"
            assert len(set(frames)) == len(frames), \
                f"slider {k}: positions {[r for r, _ in seen]} do not all show different figures"
        page.wait_for_timeout(300)  # late font and script requests
    finally:
        page.screenshot(path=str(shot), full_page=True)
        context.close()
    unexpected = [e for e in errors if not any(h in e for h in HARMLESS)
                  and "Failed to load resource" not in e]  # those are the 404s below, by name
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not missing, f"not found on the server: {missing}"
    assert not unexpected, f"errors on the page: {unexpected}"


# ---------------------------------------------------------------- vendored assets
# The browser test above checks the assets a real build served; these check the
# tool's failure modes without network or npm.

def _vendor_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "tools" / "vendor_assets.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["vendor_assets"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_vendor_without_npm_writes_cdn_shims(tmp_path, monkeypatch, capsys):
    tool = _vendor_tool()
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(tmp_path / "cache"))  # no cached tarballs
    out = tmp_path / "vendor" / "nc-assets"
    assert tool.vendor(out, npm=str(tmp_path / "no-npm-here")) == "cdn"
    assert "WARNING" in capsys.readouterr().err
    for rel in ("widgets/config.js", "widgets/require.js", "widgets/embed-amd.js",
                "mathjax/tex-chtml.js"):
        assert (out / rel).is_file(), rel
    assert "cdn.jsdelivr.net/npm/mathjax@3.2.2" in (out / "mathjax/tex-chtml.js").read_text()
    assert tool.read_stamp(out)["mode"] == "cdn"
    assert [p.name for p in out.parent.iterdir()] == ["nc-assets"]  # no staging left over


def test_vendor_failure_keeps_previous_folder(tmp_path, monkeypatch):
    tool = _vendor_tool()
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "nc-assets"
    out.mkdir()
    (out / "keep.txt").write_text("previous assets")

    def half_then_crash(staging, npm):
        (staging / "widgets").mkdir()
        (staging / "widgets" / "embed-amd.js").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(tool, "build_from_npm", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        tool.vendor(out, force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == ["nc-assets"]


def test_vendor_keeps_self_hosted_assets_when_npm_breaks(tmp_path, monkeypatch):
    tool = _vendor_tool()
    monkeypatch.setenv("NORMCORE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "nc-assets"
    out.mkdir()
    stamp = tool.wanted_stamp("npm")
    stamp["packages"]["mathjax"] = "3.2.1"  # outdated, so the tool tries to update
    (out / tool.STAMP).write_text(json.dumps(stamp))
    assert tool.vendor(out, npm=str(tmp_path / "no-npm-here")) == "current"
    assert tool.read_stamp(out) == stamp  # old self-hosted files beat CDN shims
