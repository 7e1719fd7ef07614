"""The workshop hub for real: JupyterHub + proxy + shared PostgreSQL store, learners in Chromium.

One hub for the module (it takes ~10 s to start): two learners log in through the login
form and play two rounds of the conflict cell on the shared store, through its learner role
(not the superuser); each learner loses one round to the other's event; a wrong password is
refused; a learner can open neither the other's server nor their files.
Needs root (one system user per learner), Chromium, JupyterHub and the npm proxy
(``make hub-setup``); skipped without them, a failure under ``CI``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from eslab import hub
from eslab.pgcluster import find_bin_dir, free_port
from eslab.store import EventStore

from ..browser.conftest import require_chromium
from ..browser.harness import (
    assert_no_errors,
    notebook_panel,
    open_notebook,
    run_all,
    wait_until_executed,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "event-sourcing-42"
SUFFIX = os.getpid() % 100000
ALICE, BOB = f"alice{SUFFIX}", f"bob{SUFFIX}"
CELLS = [
    "import os\nfrom eslab import EventStore\nfrom eslab.events import EventMetadata\n"
    "store = EventStore(os.environ['ESLAB_STORE'])\nme = os.environ['ESLAB_LEARNER']\n"
    "print('connected as', store.sql('SELECT current_user AS u')['u'][0])",
    # The round's account is opened once; both learners read it at version 1 and deposit:
    # whoever saves second holds a stale version and gets the conflict.
    "from eslab.domain.bank import AccountOpened, MoneyDeposited\n"
    "from eslab.errors import ConcurrencyError, StreamExistsError\n"
    "try:\n    store.append('Account', 'STREAM', [AccountOpened(owner='class', "
    "initial_deposit=0)], expected_version=0)\nexcept StreamExistsError:\n    pass\n"
    "try:\n    store.append('Account', 'STREAM', [MoneyDeposited(amount=1)], "
    "expected_version=1, metadata=EventMetadata(actor=me))\n    print(f'{me} wrote version 2')\n"
    "except ConcurrencyError as exc:\n"
    "    rows = store.sql(\"SELECT metadata->>'actor' AS actor FROM events \"\n"
    "                     \"WHERE entity_id = 'STREAM' AND entity_version = 2\")\n"
    "    winner = rows['actor'][0]\n"
    "    print(f'{me} saw a conflict: ConcurrencyError caused by {winner}: {exc}')",
    "try:\n    open(os.path.expanduser('~/../OTHER/notebooks/03_optimistic_locking.ipynb'))\n"
    "    print('read the other learner\\'s notebook')\n"
    "except PermissionError:\n    print('the other learner\\'s files are closed to me')",
]


def _require() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("root (the hub creates one system user per learner)")
    if not hub.PROXY.exists():
        problems.append("configurable-http-proxy (make hub-proxy)")
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        problems.append("jupyterhub (pip install -e '.[hub]')")
    if find_bin_dir() is None:
        problems.append("PostgreSQL server binaries (apt-get install postgresql)")
    if problems:
        message = "the hub tests need: " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message + " [CI is set: this is a failure]", pytrace=False)
        pytest.skip(message)
    require_chromium()


@dataclass
class LearnerServer:
    """One learner's server behind the hub, shaped for the browser harness."""

    url: str
    name: str
    root_dir: Path

    def lab_url(self, relpath: str = "") -> str:
        return f"{self.url}user/{self.name}/lab/tree/{relpath}?reset"  # only this notebook


@pytest.fixture(scope="module")
def running_hub() -> Iterator[hub.HubSettings]:
    """The hub on a free loopback port; stopped and its learners removed afterwards.

    Its folder is not under pytest's basetemp: pytest makes that 0700 again at every
    session start (any other pytest run), which would lock the learners out of their homes.
    """
    _require()
    folder = Path(tempfile.mkdtemp(prefix="eslab-hub-"))
    try:
        yield hub.start(folder, password=PASSWORD, port=free_port())
    finally:
        hub.stop(folder)
        for name in (ALICE, BOB):
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _login(browser: Any, settings: hub.HubSettings, name: str, password: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(settings.url + "hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return page


def _conflict_round(settings: hub.HubSettings, page: Any, name: str, other: str, n: int) -> str:
    """Write round ``n``'s conflict notebook into ``name``'s home, run it, return the output."""
    notebooks = Path(settings.folder) / "homes" / name / "notebooks"
    nb = nbformat.v4.new_notebook()
    code = [c.replace("OTHER", other).replace("STREAM", f"shared-{n}") for c in CELLS]
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code]
    path = notebooks / f"shared_conflict_{n}.ipynb"
    nbformat.write(nb, path)
    user = pwd.getpwnam(name)
    os.chown(path, user.pw_uid, user.pw_gid)
    open_notebook(page, LearnerServer(settings.url, name, notebooks), path.name, timeout=120_000)
    run_all(page)
    assert wait_until_executed(page, timeout=120_000) == "done"
    assert_no_errors(page)
    return "\n".join(notebook_panel(page).locator(".jp-OutputArea-output").all_inner_texts())


def test_two_learners_share_a_store_and_nothing_else(
    running_hub: hub.HubSettings, browser: Any
) -> None:
    pages = {}
    for name in (ALICE, BOB):
        page = _login(browser, running_hub, name, PASSWORD)
        page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
        pages[name] = page
    home = Path(running_hub.folder) / "homes"
    for name in (ALICE, BOB):  # own copy of the learner notebooks, never the solutions
        copied = sorted(p.name for p in (home / name / "notebooks").iterdir())
        assert "03_optimistic_locking.ipynb" in copied and "solutions" not in copied
        assert (home / name).stat().st_mode & 0o777 == 0o700
        assert pwd.getpwnam(name).pw_gecos == hub.LEARNER_MARK

    assert running_hub.store_url.startswith("postgresql://learner:")
    # Round 1: alice saves first, bob's stale save conflicts; round 2 the other way round.
    for n, (first, second) in enumerate(((ALICE, BOB), (BOB, ALICE)), start=1):
        won = _conflict_round(running_hub, pages[first], first, second, n)
        lost = _conflict_round(running_hub, pages[second], second, first, n)
        assert f"{first} wrote version 2" in won
        assert f"{second} saw a conflict: ConcurrencyError caused by {first}" in lost
        for text in (won, lost):
            assert "connected as learner" in text
            assert "the other learner's files are closed to me" in text

    # The hub refuses alice at bob's server (403 page, never bob's Lab).
    response = pages[ALICE].goto(f"{running_hub.url}user/{BOB}/lab/tree/shared_conflict_1.ipynb")
    assert response is not None and response.status == 403
    assert pages[ALICE].locator(".jp-NotebookPanel").count() == 0


def test_a_wrong_password_is_refused(running_hub: hub.HubSettings, browser: Any) -> None:
    intruder = f"mallory{SUFFIX}"
    page = _login(browser, running_hub, intruder, "not-the-password")
    page.wait_for_selector("text=Invalid username or password", timeout=30_000)
    assert "/hub/login" in page.url
    with pytest.raises(KeyError):
        pwd.getpwnam(intruder)  # no system user, no server


def test_stop_then_reset_clears_learners_and_store_but_not_the_course(
    running_hub: hub.HubSettings,
) -> None:
    folder = Path(running_hub.folder)
    course = sorted((p.name, p.stat().st_mtime) for p in hub.NOTEBOOKS.rglob("*.ipynb"))
    assert hub.status(folder)["hub"] is True
    assert "hub" in hub.stop(folder) and not hub.running(folder)
    removed = hub.reset(folder)
    assert f"learner {ALICE}" in removed and f"learner {BOB}" in removed
    assert hub.learners(folder) == []
    for name in (ALICE, BOB):
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
    assert not (folder / "homes").exists()
    cluster = hub.shared_store(folder).cluster.start()  # reset left it stopped, as found
    store = EventStore(running_hub.store_url)
    assert store.last_position() == 0  # the store's events are gone, its tables stay
    store.close()
    assert hub.stop(folder) == ["store"] and not cluster.running()
    assert sorted((p.name, p.stat().st_mtime) for p in hub.NOTEBOOKS.rglob("*.ipynb")) == course
