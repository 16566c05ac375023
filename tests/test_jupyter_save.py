"""Opening and saving a notebook in JupyterLab leaves its ``.py`` source byte-identical.

A real Jupyter server (with jupytext's server extension, as JupyterLab runs it) serves a
copy of ``notebooks/`` and ``jupytext.toml``; each notebook is opened as a notebook
through the contents API (GET) and saved unchanged (PUT), as JupyterLab's
*Open With → Notebook* and *Save* do.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from mstl_lib.paths import REPO_ROOT

NOTEBOOKS = sorted(p.name for p in (REPO_ROOT / "notebooks").glob("*.py"))
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterServer:
    """A jupyter_server on a free local port, with a token, serving ``root``."""

    def __init__(self, root, home):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = {**__import__("os").environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
               "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data")}
        self.log = open(home / "server.log", "w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             "--ServerApp.open_browser=False", "--ServerApp.allow_root=True"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.call("GET", "/api/status")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Jupyter server did not start:\n{self.log_text()[-3000:]}") from None
                time.sleep(0.2)

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - our own local server
            return json.loads(answer.read() or b"null")

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def served_notebooks(tmp_path_factory):
    """(server, folder): a copy of notebooks/ and jupytext.toml behind a running Jupyter server."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO_ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    shutil.copy2(REPO_ROOT / "jupytext.toml", root / "jupytext.toml")
    server = JupyterServer(root, tmp_path_factory.mktemp("jupyter_home"))
    yield server, root / "notebooks"
    server.stop()


def test_the_server_opens_py_files_as_notebooks(served_notebooks):
    server, _ = served_notebooks
    model = server.call("GET", f"/api/contents/notebooks/{NOTEBOOKS[0]}?type=notebook&content=1")
    assert model["type"] == "notebook" and model["content"]["cells"], "jupytext's server extension is not active"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_saving_a_notebook_unchanged_keeps_its_source(name, served_notebooks):
    server, folder = served_notebooks
    before = (REPO_ROOT / "notebooks" / name).read_bytes()
    model = server.call("GET", f"/api/contents/notebooks/{name}?type=notebook&content=1")
    server.call("PUT", f"/api/contents/notebooks/{name}", {"type": "notebook", "format": "json",
                                                           "content": model["content"]})
    after = (folder / name).read_bytes()
    if after != before:
        import difflib  # noqa: PLC0415

        diff = difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), "source",
                                    "saved", lineterm="", n=1)
        pytest.fail(f"saving {name} in JupyterLab changes it:\n" + "\n".join(diff))
    assert not (folder / name.replace(".py", ".ipynb")).exists(), "the save wrote an .ipynb beside the source"
