"""Shared fixtures: the real-data mirror, a loopback HTTP server, and the ``slow`` marker."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys_challenges.verify import copy_project, project_env

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NEEDS_TINY = pytest.StashKey[bool]()
TINY_BUILD_TIMEOUT_S = 1800


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def _uses_tiny(item: pytest.Item) -> bool:
    return "tiny_project" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # the tests on the tiny pipeline last: its one build (tiny_build) runs beside the others meanwhile
    items.sort(key=_uses_tiny)
    config.stash[NEEDS_TINY] = any(map(_uses_tiny, items))
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


def _run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every process of this pytest run shares: pytest-xdist's workers have their base
    temporary folders in one folder of the run."""
    basetemp = tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


@pytest.fixture(scope="session", autouse=True)
def tiny_build(tmp_path_factory, request) -> Iterator[Path | None]:
    """Start the tiny pipeline's one build of this run in the background, from the first process
    that gets here, when a collected test needs it: a copy of the project switched to
    ``experiments/tiny.yaml`` and reproduced with ``dvc repro`` (``build/``, its output in
    ``repro.out``/``repro.err`` and its exit status in ``repro.rc`` once done). The other tests run
    meanwhile; the ones on the tiny pipeline are collected last."""
    if not request.config.stash.get(NEEDS_TINY, False):
        yield None
        return
    root = _run_root(tmp_path_factory) / "tiny"
    root.mkdir(exist_ok=True)
    try:  # one process of the run claims the build
        os.close(os.open(root / "claimed", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        yield root
        return
    mirror = request.getfixturevalue("mirror")
    (root / "build").mkdir()
    env = copy_project(ROOT, root / "build") | {"RECSYS_DATA_MIRROR": str(mirror), "WANDB_MODE": "offline"}
    script = (f'"{sys.executable}" -m recsys_challenges profile apply experiments/tiny.yaml && "{BIN / "dvc"}" repro; '
              f'echo $? > ../repro.rc.tmp && mv ../repro.rc.tmp ../repro.rc')
    with open(root / "repro.out", "w") as out, open(root / "repro.err", "w") as err:
        build = subprocess.Popen(["bash", "-c", script], cwd=root / "build", env=env, stdout=out, stderr=err)
    yield root
    build.wait()  # the other processes of the run may still need it


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory, tiny_build, mirror):
    """This process's copy of the tiny pipeline's build (:func:`tiny_build`), once it is done.

    Returns ``(folder, env, first_repro)``. Every technique's end-to-end test reads its outputs
    from here, so the whole tiny pipeline runs once per test run, whatever the number of processes.
    """
    rc_file, waited = tiny_build / "repro.rc", 0.0
    while not rc_file.exists():
        assert waited < TINY_BUILD_TIMEOUT_S, f"the tiny pipeline's build did not finish in {TINY_BUILD_TIMEOUT_S} s"
        time.sleep(1.0)
        waited += 1.0
    stdout, stderr = (tiny_build / "repro.out").read_text(), (tiny_build / "repro.err").read_text()
    returncode = int(rc_file.read_text())
    assert returncode == 0, f"the tiny pipeline's dvc repro failed:\n{stdout[-4000:]}\n{stderr[-4000:]}"
    work = tmp_path_factory.mktemp("project")
    shutil.copytree(tiny_build / "build", work, symlinks=True, dirs_exist_ok=True)
    env = project_env(work) | {"RECSYS_DATA_MIRROR": str(mirror), "WANDB_MODE": "offline"}
    return work, env, subprocess.CompletedProcess(["dvc", "repro"], returncode, stdout, stderr)
