"""The CIFAR-10 download end to end against a local HTTP server on 127.0.0.1.

The server hands out a small tar.gz built here; its md5 is passed in, so no test
reaches beyond this machine. After every failure the target's parent must look
exactly as before: no partial archive, no half-extracted directory.
"""

import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from normcore.data import load_CIFAR10
from normcore.data.download import DownloadError, download_cifar10
from test_data_cifar10 import N_BATCH, write_fake_cifar10

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # urllib honours proxy variables; requests to 127.0.0.1 must go straight there.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _tar_gz(entries):
    """A tar.gz in memory; ``entries`` is a list of (TarInfo, bytes or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, payload in entries:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    write_fake_cifar10(src / "cifar-10-batches-py")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    body = buf.getvalue()
    return body, hashlib.md5(body).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    # routes: path -> (body, declared length); a declared length above len(body)
    # sends a short body and hangs up, as a dropped connection does.
    routes: dict = {}

    def do_GET(self):
        if self.path not in self.routes:
            self.send_error(404)
            return
        body, declared = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Handler,), {"routes": {}})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path, body, declared=None):
        handler.routes[path] = (body, len(body) if declared is None else declared)
        return base + path

    yield serve
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _listing(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_success_unpacks_a_loadable_copy(server, archive, tmp_path):
    body, md5 = archive
    url = server("/cifar-10-python.tar.gz", body)
    target = tmp_path / "data" / "cifar-10-batches-py"
    assert download_cifar10(target, url=url, md5=md5, progress=False) == target
    # Only the target is left: no temporary archive or extraction directory.
    assert sorted(p.name for p in target.parent.iterdir()) == ["cifar-10-batches-py"]
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["batches.meta", "test_batch"] + [f"data_batch_{b}" for b in range(1, 6)])
    Xtr, Ytr, Xte, Yte = load_CIFAR10(target, verify=False)
    assert Xtr.shape == (5 * N_BATCH, 32, 32, 3) and Ytr.dtype == np.int64


def test_checksum_mismatch_leaves_nothing(server, archive, tmp_path):
    body, md5 = archive
    url = server("/cifar-10-python.tar.gz", body)
    (tmp_path / "keep.txt").write_text("unrelated file")
    before = _listing(tmp_path)
    with pytest.raises(DownloadError, match=f"expected {'0' * 32}"):
        download_cifar10(tmp_path / "cifar-10-batches-py", url=url, md5="0" * 32, progress=False)
    assert _listing(tmp_path) == before


def test_interrupted_transfer_leaves_nothing(server, archive, tmp_path):
    body, md5 = archive
    # The server promises the whole archive, sends half, and closes.
    url = server("/cifar-10-python.tar.gz", body[: len(body) // 2], declared=len(body))
    before = _listing(tmp_path)
    with pytest.raises(DownloadError, match="interrupted|broke off") as info:
        download_cifar10(tmp_path / "cifar-10-batches-py", url=url, md5=md5, progress=False)
    assert "run the command again" in str(info.value)
    assert _listing(tmp_path) == before


def _unused_port():
    # Bound and released: nothing listens there, so a connect is refused.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_says_so_and_removes_directories_it_made(tmp_path):
    url = f"http://127.0.0.1:{_unused_port()}/cifar-10-python.tar.gz"
    target = tmp_path / "new" / "deeper" / "cifar-10-batches-py"
    with pytest.raises(DownloadError, match="offline") as info:
        download_cifar10(target, url=url, md5="0" * 32, progress=False)
    assert "mnist1d" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_reported(server, tmp_path):
    url = server("/present", b"x").replace("/present", "/missing.tar.gz")
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_cifar10(tmp_path / "cifar-10-batches-py", url=url, md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def _file(name, payload=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    return info, payload


def _symlink(name, to):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = to
    return info, None


@pytest.mark.parametrize("entries", [
    [_file("cifar-10-batches-py/data_batch_1"), _file("cifar-10-batches-py/../../escaped")],
    [_file("/tmp/escaped-absolute")],
    [_file("elsewhere/data_batch_1")],
    [_symlink("cifar-10-batches-py/data_batch_1", "/etc/passwd")],
], ids=["dot-dot", "absolute", "outside-root", "symlink"])
def test_unsafe_archive_is_refused(server, tmp_path, entries):
    body = _tar_gz(entries)
    url = server("/cifar-10-python.tar.gz", body)
    target = tmp_path / "inner" / "cifar-10-batches-py"
    target.parent.mkdir()
    with pytest.raises(DownloadError, match="refusing to extract"):
        download_cifar10(target, url=url, md5=hashlib.md5(body).hexdigest(), progress=False)
    assert _listing(tmp_path) == ["inner"]
    assert not Path("/tmp/escaped-absolute").exists()


def test_full_disk_during_extraction_leaves_nothing(server, archive, tmp_path, monkeypatch):
    body, md5 = archive
    url = server("/cifar-10-python.tar.gz", body)

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", disk_full)
    with pytest.raises(DownloadError, match="No space left on device") as info:
        download_cifar10(tmp_path / "cifar-10-batches-py", url=url, md5=md5, progress=False)
    assert "--dir" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_existing_target_is_never_overwritten(tmp_path):
    target = tmp_path / "cifar-10-batches-py"
    target.mkdir()
    (target / "mine").write_text("keep")
    with pytest.raises(FileExistsError, match="already exists"):
        download_cifar10(target, url="http://127.0.0.1:9/", md5="0" * 32, progress=False)
    assert (target / "mine").read_text() == "keep"


def test_bad_md5_argument_is_named(tmp_path):
    with pytest.raises(ValueError, match="md5"):
        download_cifar10(tmp_path / "x", url="http://127.0.0.1:9/", md5="abc")


def _cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO), "no_proxy": "127.0.0.1,localhost"}
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "normcore.data", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_command_line_downloads_then_reports_existing_copy(server, archive, tmp_path, monkeypatch):
    body, md5 = archive
    url = server("/cifar-10-python.tar.gz", body)
    target = tmp_path / "cifar-10-batches-py"
    done = _cli("download", "cifar10", "--dir", str(target), "--url", url, "--md5", md5,
                "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"NORMCORE_CIFAR10_DIR={target}" in done.stdout
    assert (target / "data_batch_5").is_file()
    # A second run checks the official per-file sums, which a fake cannot match.
    again = _cli("download", "cifar10", "--dir", str(target), cwd=tmp_path)
    assert again.returncode == 1 and "checksum mismatch" in again.stderr
    assert f"Remove {target}" in again.stderr


def test_command_line_offline_exits_nonzero_with_advice(tmp_path):
    url = f"http://127.0.0.1:{_unused_port()}/cifar-10-python.tar.gz"
    out = _cli("download", "cifar10", "--dir", str(tmp_path / "c" / "cifar-10-batches-py"),
               "--url", url, "--quiet", cwd=tmp_path)
    assert out.returncode == 1
    assert "offline" in out.stderr and "Connection refused" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_command_line_info_points_at_the_download(tmp_path):
    env_cache = tmp_path / "cache"
    out = subprocess.run([sys.executable, "-m", "normcore.data", "info"], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO),
                              "NORMCORE_CACHE_DIR": str(env_cache), "NORMCORE_DATASET": "cifar10"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "default data set  : cifar10" in out.stdout
    assert "(absent)" in out.stdout and "python -m normcore.data download cifar10" in out.stdout
    assert not env_cache.exists()  # looking creates nothing
