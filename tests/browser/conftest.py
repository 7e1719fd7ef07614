"""Fixtures for the real-browser tests: one JupyterLab server and one Chromium per session.

* ``lab_server`` (session): JupyterLab serving a temporary *copy* of ``notebooks/`` (the
  files in git are never touched), with the harness fixtures copied under ``_probe/``.
  All Jupyter state (settings, workspaces, runtime, config, data, checkpoints) lives in a
  temporary folder, so a learner's own ``~/.jupyter`` cannot change what the tests see.
* ``browser`` (session): headless Debian Chromium (``/usr/bin/chromium``) via Playwright.
* ``page`` (per test): a fresh browser context and page; on failure a screenshot and the
  browser console go to ``test-artifacts/browser/``; afterwards every kernel is shut down.

Every test under ``tests/browser/`` is marked ``browser``. Without Chromium the tests are
skipped, except under ``CI`` where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .harness import ARTIFACTS, ROOT

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "eslab-browser-tests"
PROBE_DIR = "_probe"
SERVER_START_TIMEOUT_S = 90
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The network is closed here: stop Chromium's background requests from hanging on it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab user settings, one file per plugin (JUPYTERLAB_SETTINGS_DIR layout).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # Lab >= 4.1 asks "Select Kernel" on open unless this is set; "none" keeps every
    # cell in the DOM (other windowing modes detach cells scrolled out of view).
    "@jupyterlab/notebook-extension/tracker": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    # Never write the served copy behind the test's back.
    "@jupyterlab/docmanager-extension/plugin": {
        "autosave": False,
        "confirmClosingDocument": False,
    },
    # No "Would you like to receive official Jupyter news?" toast, no update check.
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/apputils-extension/sessionDialogs": {"skipKernelRestartDialog": True},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}

# Server-side config (JUPYTER_CONFIG_DIR/jupyter_server_config.json): nothing may try
# to reach the internet (news feed, update check, PyPI extension manager).
SERVER_CONFIG: dict[str, Any] = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add the ``browser`` marker to every test collected under this folder."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


def require_chromium() -> None:
    """Skip (locally) or fail (under CI) when Chromium or Playwright is missing."""
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("python package playwright not installed (pip install -e '.[test]')")
    if not problems:
        return
    message = "browser tests need: " + "; ".join(problems)
    if os.environ.get("CI"):
        pytest.fail(message + " [CI is set: a missing browser is a failure]", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """Ask the OS for a free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LabServer:
    """A running JupyterLab: where it is, how to reach it, what it serves."""

    base_url: str
    token: str
    root_dir: Path
    process: subprocess.Popen[bytes]

    def lab_url(self, relpath: str = "") -> str:
        """URL that opens ``relpath`` (relative to the served root) in a fresh workspace."""
        tree = f"/tree/{quote(relpath)}" if relpath else ""
        return f"{self.base_url}/lab{tree}?reset&token={self.token}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the Jupyter REST API (``path`` like ``/api/kernels``); return parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def add_file(self, source: Path, dest: str) -> Path:
        """Copy a file or folder into the served root at ``dest``; return the new path."""
        target = self.root_dir / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return target

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel (they would pile up between tests)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


def _write_jupyter_state(state: Path) -> dict[str, str]:
    """Create the temporary Jupyter folders and config; return the environment to use."""
    dirs = {
        name: state / name
        for name in ("settings", "workspaces", "runtime", "config", "data", "ipython")
    }
    for folder in dirs.values():
        folder.mkdir(parents=True, exist_ok=True)
    for plugin, values in LAB_SETTINGS.items():
        path = dirs["settings"] / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")
    (dirs["config"] / "jupyter_server_config.json").write_text(
        json.dumps(SERVER_CONFIG, indent=2), encoding="utf-8"
    )
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        # Only the *user* data dir moves: lab extensions (ipywidgets' manager) and the
        # python3 kernelspec are still found under sys.prefix/share/jupyter.
        JUPYTER_DATA_DIR=str(dirs["data"]),
        IPYTHONDIR=str(dirs["ipython"]),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def _wait_for_status(server: LabServer, log_path: Path) -> None:
    """Poll ``/api/status`` until the server answers; fail with the log if it dies."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = log_path.read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"jupyter lab exited with {server.process.returncode}:\n{log[-3000:]}")
        try:
            server.api("GET", "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s; see {log_path}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (SIGTERM shuts its kernels down), then its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    try:  # anything the server left in its own process group (stray kernels)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Start JupyterLab on a free loopback port, serving a copy of ``notebooks/``."""
    require_chromium()  # no point starting a server that no browser will visit
    base = tmp_path_factory.mktemp("lab")
    root_dir = base / "served"
    source = ROOT / "notebooks"
    if source.is_dir():
        shutil.copytree(source, root_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    root_dir.mkdir(exist_ok=True)
    probe_dir = root_dir / PROBE_DIR
    probe_dir.mkdir()
    for notebook in FIXTURES.glob("*.ipynb"):
        shutil.copy2(notebook, probe_dir / notebook.name)

    env = _write_jupyter_state(base / "jupyter")
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "jupyter-server.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root_dir}",
        f"--FileCheckpoints.checkpoint_dir={base / 'checkpoints'}",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = LabServer(f"http://127.0.0.1:{port}", TOKEN, root_dir, process)
    try:
        _wait_for_status(server, log_path)
        yield server
    finally:
        _stop(process)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the item, so ``page`` can tell a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; screenshot + console log on failure; kernels shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    new_page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    try:
        yield new_page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            name = request.node.name.replace("/", "_")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:
                new_page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
            except Exception as exc:  # the page may be gone; the log still helps
                console.append(f"[harness] screenshot failed: {exc}")
            (ARTIFACTS / f"FAILED-{name}.console.txt").write_text(
                "\n".join(console), encoding="utf-8"
            )
        context.close()
        lab_server.shutdown_kernels()
