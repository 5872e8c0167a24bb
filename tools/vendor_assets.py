"""Fetch the book's JavaScript (widget manager, RequireJS, MathJax) so pages need no CDN.

Run before every book build (``./dev book`` does)::

    python tools/vendor_assets.py            # no-op when already up to date
    python tools/vendor_assets.py --force    # re-extract from the cached tarballs

The pinned npm packages are fetched with ``npm pack`` into the per-user cache
(``normcore.storage.cache_dir("npm")``), checked against pinned SHA-256 sums and
unpacked into ``vendor/nc-assets/{widgets,mathjax}``. ``_config.yml`` copies
``vendor/`` to the site root (``html_extra_path``), so the built pages load
``nc-assets/...`` from the book's own host.

If npm is missing or fails, the folder is filled with small shims that load the
same pinned versions from public CDNs instead, and a warning is printed: the book
still works online, it just is no longer self-contained. The next run retries npm.

The output folder is replaced in one rename: a failed run leaves the previous
folder (or none) in place, never a half-written one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from normcore.storage import cache_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "vendor" / "nc-assets"
STAMP = "VERSIONS.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the registry tarball; npm checks its own integrity, this pins the content
    cdn: str  # where the fallback loads the same version from

    @property
    def tarball(self) -> str:
        # npm pack's file naming: scope "@a/b" becomes "a-b".
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


# html-manager 1.0.x is the line that renders ipywidgets 8 state.
HTML_MANAGER = Package(
    "@jupyter-widgets/html-manager", "1.0.15",
    "2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638",
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.15/dist/embed-amd.js")
REQUIREJS = Package(
    "requirejs", "2.3.8",
    "777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec",
    "https://cdn.jsdelivr.net/npm/requirejs@2.3.8/require.js")
MATHJAX = Package(
    "mathjax", "3.2.2",
    "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09",
    "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js")
PACKAGES = (HTML_MANAGER, REQUIREJS, MATHJAX)

FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")
FONT_DIR = Path("@jupyter-widgets", "html-manager", "dist")

# (package, member prefix inside the tarball, destination folder). A prefix ending
# in "/" copies the whole subtree. MathJax: the extensions folder is required (one
# autoloaded macro missing stops *all* typesetting on a page); mml, a11y, sre and ui
# serve the right-click menu's accessibility items, which would 404 otherwise.
MATHJAX_MEMBERS = (
    "es5/tex-chtml.js",
    "es5/input/tex/extensions/",
    "es5/input/mml.js",
    "es5/input/mml/",
    "es5/output/chtml/fonts/woff-v2/",
    "es5/a11y/",
    "es5/sre/",
    "es5/ui/",
)

# Runs before require.js and embed-amd.js on every widget page.
# 1. embed-amd.js resolves its icon fonts against __jupyter_widgets_assets_path__
#    (else against the *page*, so they 404 on pages in subfolders).
# 2. RequireJS reads a global `require` object as its configuration when it loads.
# 3. The widget manager typesets labels with MathJax 2's `MathJax.Hub.Queue`
#    whenever window.MathJax exists; Sphinx loads MathJax 3, which has no Hub, so
#    every widget would throw. Deferred scripts (MathJax) run before
#    DOMContentLoaded and widgets render at "load", so a small Hub that forwards
#    to MathJax 3 is installed in between.
CONFIG_JS = """\
// Written by tools/vendor_assets.py: point the widget manager at this folder.
(function () {
  var here = new URL(".", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = here;
  window.require = {baseUrl: here};
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {Queue: function (job) {
      var el = job && job[2];
      if (!el) return;
      mj.startup.promise.then(function () { return mj.typesetPromise([el]); })
        .catch(function (err) { console.warn("MathJax could not typeset a widget label", err); });
    }};
  });
})();
"""

# Fallback when npm is unavailable: the same files, but each loads its CDN copy.
# Sphinx loads MathJax with `defer`, where document.write is ignored, so the shims
# insert script elements; the widget scripts must run in order, hence the chain.
CDN_CONFIG_JS = """\
// Written by tools/vendor_assets.py WITHOUT npm: loads the widget manager from CDNs.
(function () {
  var chain = %s;
  function next() {
    if (!chain.length) return;
    var s = document.createElement("script");
    s.src = chain.shift();
    s.onload = next;
    document.head.appendChild(s);
  }
  next();
})();
"""
CDN_NOOP_JS = "// CDN fallback: config.js loads this file's CDN copy instead.\n"
CDN_MATHJAX_JS = """\
// Written by tools/vendor_assets.py WITHOUT npm: loads MathJax from a CDN.
(function () {
  var s = document.createElement("script");
  s.src = %s;
  s.async = true;
  document.head.appendChild(s);
})();
"""


class FetchError(RuntimeError):
    """npm could not deliver a package (missing, offline, wrong checksum)."""


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch_tarball(pkg: Package, npm: str, cache: Path) -> Path:
    """Return the cached tarball of ``pkg``, running ``npm pack`` if it is not cached."""
    target = cache / pkg.tarball
    if target.is_file() and sha256_of(target) == pkg.sha256:
        return target
    if shutil.which(npm) is None:
        raise FetchError(f"npm not found (looked for {npm!r} on PATH)")
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            subprocess.run([npm, "pack", "--silent", f"{pkg.name}@{pkg.version}"], cwd=tmp,
                           check=True, capture_output=True, text=True, timeout=300)
        except subprocess.CalledProcessError as err:
            raise FetchError(f"npm pack {pkg.name}@{pkg.version} failed: {err.stderr.strip()}")
        except subprocess.TimeoutExpired:
            raise FetchError(f"npm pack {pkg.name}@{pkg.version} timed out")
        got = Path(tmp) / pkg.tarball
        if not got.is_file():
            raise FetchError(f"npm pack {pkg.name}@{pkg.version} wrote no {pkg.tarball}")
        digest = sha256_of(got)
        if digest != pkg.sha256:
            raise FetchError(f"{pkg.tarball} has SHA-256 {digest}, expected {pkg.sha256}")
        os.replace(got, target)  # same file system: the cache never holds half a tarball
    return target


def extract(tarball: Path, members: tuple[str, ...], dest: Path, strip: str = "",
            keep=lambda rel: True) -> int:
    """Copy regular files from ``tarball`` to ``dest``; return how many.

    ``members`` are paths relative to the tarball's ``package/`` folder; one ending
    in "/" selects a whole subtree. Each file lands at its path with the prefix
    ``strip`` removed, so relative layouts (MathJax finds its components relative
    to its own script) survive. Names are rebuilt from their parts, so no tarball
    entry can write outside ``dest``.
    """
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for info in tar:
            if not info.isfile():
                continue
            rel = PurePosixPath(info.name)
            if rel.parts[:1] != ("package",) or ".." in rel.parts:
                continue
            inner = str(PurePosixPath(*rel.parts[1:]))
            selected = any(inner.startswith(m) if m.endswith("/") else inner == m
                           for m in members)
            if not selected or not keep(PurePosixPath(inner)) or not inner.startswith(strip):
                continue
            out = dest.joinpath(*PurePosixPath(inner[len(strip):]).parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count


def build_from_npm(staging: Path, npm: str) -> None:
    cache = cache_dir("npm")
    tarballs = {pkg: fetch_tarball(pkg, npm, cache) for pkg in PACKAGES}
    widgets, mathjax = staging / "widgets", staging / "mathjax"
    n_widget = extract(tarballs[HTML_MANAGER], ("dist/embed-amd.js",), widgets, strip="dist/")
    # The bundle's CSS asks for "<assets path>@jupyter-widgets/html-manager/dist/<font>",
    # and config.js sets the assets path to the widgets folder.
    n_widget += extract(tarballs[HTML_MANAGER], ("dist/",), widgets / FONT_DIR,
                        strip="dist/", keep=lambda p: p.suffix in FONT_SUFFIXES)
    n_req = extract(tarballs[REQUIREJS], ("require.js",), widgets)
    n_mj = extract(tarballs[MATHJAX], MATHJAX_MEMBERS, mathjax, strip="es5/")
    extract(tarballs[MATHJAX], ("LICENSE",), mathjax)
    if n_widget < 2 or n_req != 1 or not (mathjax / "tex-chtml.js").is_file() or n_mj < 10:
        raise FetchError("a tarball did not contain the expected files")
    (widgets / "config.js").write_text(CONFIG_JS)


def build_cdn_shims(staging: Path) -> None:
    widgets, mathjax = staging / "widgets", staging / "mathjax"
    widgets.mkdir(parents=True)
    mathjax.mkdir(parents=True)
    chain = json.dumps([REQUIREJS.cdn, HTML_MANAGER.cdn])
    (widgets / "config.js").write_text(CDN_CONFIG_JS % chain)
    (widgets / "require.js").write_text(CDN_NOOP_JS)
    (widgets / "embed-amd.js").write_text(CDN_NOOP_JS)
    (mathjax / "tex-chtml.js").write_text(CDN_MATHJAX_JS % json.dumps(MATHJAX.cdn))


def wanted_stamp(mode: str) -> dict:
    return {"mode": mode, "packages": {p.name: p.version for p in PACKAGES}}


def read_stamp(out: Path) -> dict | None:
    try:
        return json.loads((out / STAMP).read_text())
    except (OSError, ValueError):
        return None


def replace_dir(staging: Path, out: Path) -> None:
    """Swap ``staging`` in as ``out`` with renames, so ``out`` is never half-written."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def vendor(out: Path = DEFAULT_OUT, npm: str = "npm", force: bool = False) -> str:
    """Make ``out`` hold the pinned assets; return the mode used ("npm", "cdn", "current")."""
    out = Path(out)
    stamp = read_stamp(out)
    if not force and stamp == wanted_stamp("npm"):
        return "current"
    out.parent.mkdir(parents=True, exist_ok=True)
    # A run killed outright (no `finally`) leaves its staging folder behind, and
    # html_extra_path would publish it: sweep such leftovers first.
    for stale in out.parent.glob(f".{out.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    # A dot-named staging folder beside the target: same file system for the rename.
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    staging.chmod(0o755)  # mkdtemp's 0700 would survive the rename
    try:
        try:
            build_from_npm(staging, npm)
            mode = "npm"
        except FetchError as err:
            if stamp is not None and stamp.get("mode") == "npm" and not force:
                # Older self-hosted assets beat CDN shims.
                print(f"vendor_assets: WARNING: {err}; keeping the existing {out}",
                      file=sys.stderr)
                return "current"
            print(f"vendor_assets: WARNING: {err}.\n  Falling back to public CDNs: the built "
                  "pages will load MathJax and the widget manager from cdn.jsdelivr.net and "
                  "will not work offline. Install npm (e.g. `sudo apt-get install npm`) and "
                  "rebuild to self-host them.", file=sys.stderr)
            shutil.rmtree(staging)
            staging.mkdir(mode=0o755)
            build_cdn_shims(staging)
            mode = "cdn"
        (staging / STAMP).write_text(json.dumps(wanted_stamp(mode), indent=1) + "\n")
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="target folder (default: %(default)s)")
    parser.add_argument("--npm", default="npm", help="npm executable (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the folder even if it is up to date")
    args = parser.parse_args(argv)
    mode = vendor(args.out, args.npm, args.force)
    messages = {"current": "up to date", "npm": "self-hosted from npm", "cdn": "CDN shims"}
    print(f"vendor_assets: {args.out}: {messages[mode]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
