"""Shared fixtures: the real-data mirror, a loopback HTTP server, and the ``slow`` marker."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from recsys_challenges.verify import copy_project

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real data mirror (``RECSYS_DATA_MIRROR``, else ``../shared/datasets`` beside the project).

    Parser tests read the real files from here. A missing mirror fails rather than skips: CI
    always has it, and a test that silently skips its real data checks nothing.
    """
    root = Path(os.environ.get("RECSYS_DATA_MIRROR") or ROOT.parent / "shared" / "datasets").resolve()
    if not (root / "citation").is_dir():
        pytest.fail(f"real-data mirror not found at {root}: set RECSYS_DATA_MIRROR")
    return root


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (url path -> bytes) with HTTP range support.

    ``server.cut_after[path] = n`` makes the first request for ``path`` send only ``n`` bytes of
    the body (with the full Content-Length) and drop the connection: a transfer cut mid-way.
    """

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        server = self.server
        server.requests[self.path] += 1
        body = server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if (header := self.headers.get("Range")) and header.startswith("bytes="):
            start = int(header[6:].split("-")[0])
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        cut = server.cut_after.pop(self.path, None)
        self.wfile.write(chunk if cut is None else chunk[:cut])
        if cut is not None:
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server():
    """A loopback HTTP server; returns it with ``.url(path)``, ``.files``, ``.cut_after``, ``.requests``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    server.files, server.cut_after, server.requests = {}, {}, Counter()
    server.url = lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_checked(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``args`` and fail with its output tails unless it exits 0."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory, mirror):
    """A copy of the project switched to ``experiments/tiny.yaml`` and reproduced once with DVC.

    Returns ``(folder, env, first_repro)``. Every technique's end-to-end test reads its outputs
    from here, so the whole tiny pipeline runs once per test session.
    """
    work = tmp_path_factory.mktemp("project")
    env = copy_project(ROOT, work) | {"RECSYS_DATA_MIRROR": str(mirror), "WANDB_MODE": "offline"}
    run_checked([sys.executable, "-m", "recsys_challenges", "profile", "apply", "experiments/tiny.yaml"], work, env)
    first = run_checked([str(BIN / "dvc"), "repro"], work, env)
    return work, env, first
