"""A scripted class on the workshop hub: ``sudo .venv/bin/python -m bench.hub_load --learners 30``.

Starts the hub (``eslab.hub.start``, shared PostgreSQL store included) in a temporary
folder, then through the hub's REST API (an admin service token) creates N learners,
starts their servers, opens a kernel in each and runs every code cell of the learner copy
of notebook 03 in it (over the kernel's websocket, as JupyterLab does); ``--browsers K``
learners also log in through the login form in Chromium and Run All. Measured: hub
start time, time until every kernel is ready, time until every notebook has run, peak
memory (RSS of each learner's processes: server + kernel) per learner and in total (with
the hub, proxy and store). Results: ``bench/results/hub_load-<N>.json``. Not part of
``make test``; needs root, ``make hub-setup`` and the PostgreSQL binaries.
"""

from __future__ import annotations

import argparse
import json
import platform
import pwd
import secrets
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import psutil
import websocket

from eslab import hub
from eslab.pgcluster import free_port

RESULTS = Path(__file__).resolve().parent / "results"
NOTEBOOK = hub.NOTEBOOKS / "03_optimistic_locking.ipynb"


class Api:
    """The hub's REST API with the script's admin token."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = response.read()
        return json.loads(payload) if payload else None


def start_learner(api: Api, name: str) -> str:
    """Create the learner, start their server, open a kernel; return the kernel id."""
    api.call("POST", f"/hub/api/users/{name}")
    api.call("POST", f"/hub/api/users/{name}/server")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        user = api.call("GET", f"/hub/api/users/{name}")
        server = user.get("servers", {}).get("", {})
        if server.get("ready"):
            break
        time.sleep(0.5)
    else:
        raise RuntimeError(f"{name}'s server did not become ready")
    kernel = api.call("POST", f"/user/{name}/api/kernels", {"name": "python3"})
    return str(kernel["id"])


def run_cells(api: Api, name: str, kernel_id: str, cells: list[str]) -> list[str]:
    """Execute ``cells`` in the kernel over its websocket; return the error names seen."""
    ws_url = api.url.replace("http", "ws", 1) + f"/user/{name}/api/kernels/{kernel_id}/channels"
    ws = websocket.create_connection(
        ws_url, header=[f"Authorization: token {api.token}"], timeout=300
    )
    errors = []
    try:
        for code in cells:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "msg_type": "execute_request",
                            "username": name,
                            "session": uuid.uuid4().hex,
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {"code": code, "silent": False, "allow_stdin": False},
                        "channel": "shell",
                    }
                )
            )
            while True:
                reply = json.loads(ws.recv())
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if reply["msg_type"] == "execute_reply":
                    if reply["content"]["status"] != "ok":
                        errors.append(reply["content"].get("ename", "error"))
                    break
    finally:
        ws.close()
    return errors


def learner_rss(names: list[str]) -> dict[str, int]:
    """Resident memory of every process of each learner (server + kernel), in bytes."""
    uids = {pwd.getpwnam(n).pw_uid: n for n in names if _exists(n)}
    totals = dict.fromkeys(names, 0)
    for proc in psutil.process_iter(["uids", "memory_info"]):
        try:
            uid = proc.info["uids"].real
            if uid in uids:
                totals[uids[uid]] += proc.info["memory_info"].rss
        except (psutil.Error, TypeError, AttributeError):
            continue
    return totals


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def in_chromium(settings: hub.HubSettings, password: str, names: list[str]) -> dict[str, str]:
    """Log ``names`` in through the login form in Chromium and Run All of notebook 03."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.harness import error_texts, open_notebook, run_all, wait_until_executed

    outcome = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        for name in names:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(300_000)
            page.goto(settings.url + "hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/lab**")
            server = BrowserLearner(settings.url, name, Path(settings.folder) / "homes" / name)
            open_notebook(page, server, NOTEBOOK.name, timeout=300_000)
            run_all(page)
            state = wait_until_executed(page, timeout=600_000)
            outcome[name] = "errors" if error_texts(page) else state
            page.context.close()
        browser.close()
    return outcome


class BrowserLearner:
    """A learner's server as the browser harness sees it."""

    def __init__(self, url: str, name: str, home: Path) -> None:
        self.url, self.name, self.root_dir = url, name, home / "notebooks"

    def lab_url(self, relpath: str = "") -> str:
        return f"{self.url}user/{self.name}/lab/tree/{relpath}"


def machine_rss() -> int:
    """Resident memory of everything on the machine that belongs to the workshop."""
    return psutil.virtual_memory().total - psutil.virtual_memory().available


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=4, help="learners started at once")
    parser.add_argument(
        "--browsers", type=int, default=3, help="learners who also log in and Run All in Chromium"
    )
    args = parser.parse_args()
    hub.require_root()
    names = [f"load{i:02d}" for i in range(args.learners)]
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    folder = Path(tempfile.mkdtemp(prefix="eslab-hub-load-"))
    token = secrets.token_hex(32)
    baseline = machine_rss()
    peak = dict.fromkeys(names, 0)
    peak_machine = [0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.5):
            for name, rss in learner_rss(names).items():
                peak[name] = max(peak[name], rss)
            peak_machine[0] = max(peak_machine[0], machine_rss() - baseline)

    result: dict[str, Any] = {"learners": args.learners, "machine": platform.platform()}
    try:
        t0 = time.monotonic()
        password = secrets.token_hex(8)
        settings = hub.start(folder, password=password, port=free_port(), service_token=token)
        result["hub_start_s"] = round(time.monotonic() - t0, 2)
        api = Api(settings.url, token)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t1 = time.monotonic()
        with ThreadPoolExecutor(args.parallel) as pool:
            kernels = dict(
                zip(names, pool.map(lambda n: start_learner(api, n), names), strict=True)
            )
        result["all_kernels_ready_s"] = round(time.monotonic() - t1, 2)
        t2 = time.monotonic()
        with ThreadPoolExecutor(args.parallel) as pool:
            errors = list(pool.map(lambda n: run_cells(api, n, kernels[n], cells), names))
        result["notebook03_all_run_s"] = round(time.monotonic() - t2, 2)
        result["errors"] = {n: e for n, e in zip(names, errors, strict=True) if e}
        t3 = time.monotonic()
        result["chromium"] = in_chromium(settings, password, names[: args.browsers])
        result["chromium_s"] = round(time.monotonic() - t3, 2)
        time.sleep(1.5)  # one more sample after the last cell
        sampling.set()
        per = [v / 1e6 for v in peak.values()]
        result["peak_rss_per_learner_mb"] = {
            "median": round(statistics.median(per), 1),
            "max": round(max(per), 1),
        }
        result["peak_rss_learners_total_mb"] = round(sum(per), 1)
        result["peak_machine_growth_mb"] = round(peak_machine[0] / 1e6, 1)
    finally:
        sampling.set()
        hub.stop(folder)
        for name in names:
            if _exists(name):
                subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"hub_load-{args.learners}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
