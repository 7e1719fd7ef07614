"""A JupyterHub for a workshop: one command, every learner in a browser, one shared store.

``python -m eslab classroom hub start`` (as root) starts, in one folder of the
instructor's machine:

* the shared PostgreSQL store, started as a :class:`eslab.classroom.Classroom` in
  ``<folder>/store`` (its ``learner`` role can read and append, never delete or rewrite);
* a JupyterHub (``pip install -e '.[hub]'``) behind ``configurable-http-proxy`` (installed
  beforehand by ``make hub-proxy`` into ``.hub/``; nothing is downloaded at run time).

Learners log in with any name and the workshop password (JupyterHub's
``SharedPasswordAuthenticator``). On first login a pre-spawn hook creates a system user of
the same name (``useradd``, marked ``eslab learner`` in its GECOS field, home
``<folder>/homes/<name>`` with mode 0700) and copies the learner notebooks into it — never
``notebooks/solutions``. Each server runs as that user (``LocalProcessSpawner``) with
``ESLAB_STORE`` set to the learner role's URL of the shared store (never the superuser)
and ``ESLAB_LEARNER`` naming the learner.
Idle servers are culled. ``reset`` removes the learners (users, homes, hub records) and
empties the shared store; the course in the repository is never touched.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eslab.classroom import Classroom
from eslab.errors import EslabError
from eslab.pgcluster import free_port

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INSTRUCTOR_NOTEBOOKS = NOTEBOOKS / "instructor"
PROXY = ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_FOLDER = Path("/var/lib/eslab/hub")
LEARNER_MARK = "eslab learner"
"""The GECOS field of every system user the hub creates: reset removes only those."""
USERNAME_PATTERN = r"^[a-z][a-z0-9_-]{0,30}$"
SETTINGS = "settings.json"
HUB_PID = "jupyterhub.pid"
PROXY_PID = "proxy.pid"
LAB_SETTINGS = {
    # No "Select Kernel" question on open; every cell stays in the page.
    "notebook-extension/tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    # No news feed or update check (the room's network may be closed).
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
STORE_TABLES = ("events", "snapshots", "processed_messages", "checkpoints", "quarantine")


class HubError(EslabError):
    """The workshop hub could not start, stop or reset; the message says what to do."""


@dataclass
class HubSettings:
    """Everything the hub's config file reads (kept in ``<folder>/settings.json``, 0600)."""

    folder: str
    password: str
    ip: str = "127.0.0.1"
    port: int = 8000
    store_url: str = ""
    instructor: str = "instructor"
    idle_timeout: int = 3600
    proxy: str = str(PROXY)
    hub_port: int = 0
    proxy_api_port: int = 0
    proxy_token: str = field(default_factory=lambda: secrets.token_hex(32))
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    """The instructor's own password (JupyterHub wants 32+ characters for an admin)."""
    service_token: str = ""
    """If set, an admin API token for scripts (bench/hub_load.py); empty: no such service."""

    @property
    def url(self) -> str:
        """Where learners open the hub."""
        return f"http://{self.ip}:{self.port}/"

    def save(self) -> None:
        """Write the settings file, readable by root only."""
        path = Path(self.folder) / SETTINGS
        path.write_text(json.dumps(asdict(self), indent=2))
        os.chmod(path, 0o600)

    @classmethod
    def load(cls, folder: str | Path) -> HubSettings:
        """Read ``<folder>/settings.json`` (written by :func:`start`)."""
        path = Path(folder) / SETTINGS
        if not path.exists():
            raise HubError(
                f"No hub in {folder}: start one with `python -m eslab classroom hub start`."
            )
        return cls(**json.loads(path.read_text()))


# -- instructor commands ------------------------------------------------------------------


def require_root() -> None:
    """Refuse clearly unless root: only root can create one system user per learner."""
    if os.geteuid() != 0:
        raise HubError(
            "The workshop hub must run as root (sudo python -m eslab classroom hub start): "
            "it creates one system user per learner so that learners cannot read each "
            "other's files. For a single learner use `make lab` instead."
        )


def start(
    folder: str | Path = DEFAULT_FOLDER,
    *,
    password: str,
    ip: str = "127.0.0.1",
    port: int = 8000,
    instructor: str = "instructor",
    idle_timeout: int = 3600,
    service_token: str = "",
    timeout: float = 90.0,
) -> HubSettings:
    """Start the shared store and the hub in ``folder``; return the settings (url, store)."""
    require_root()
    if len(password) < 8:
        raise HubError("Choose a workshop password of at least 8 characters (--password).")
    if not PROXY.exists():
        raise HubError(
            f"configurable-http-proxy is not installed in {PROXY.parent}: run `make hub-proxy`."
        )
    try:
        import jupyterhub  # noqa: F401
    except ImportError as exc:
        raise HubError(
            "JupyterHub is not installed: run `pip install -e '.[hub]'` (or `make hub`)."
        ) from exc
    folder = Path(folder).resolve()
    if running(folder):
        raise HubError(f"A hub already runs from {folder}: `python -m eslab classroom hub status`.")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o711)  # learners pass through to their homes, list nothing
    # Learners' servers run this Python and import this course: let them reach both (o+x on
    # the parent folders: pass through, never list — e.g. /root for a pyenv under root).
    for path in (folder, Path(os.path.realpath(sys.executable)).parent, ROOT):
        _reachable(path)
    (folder / "homes").mkdir(exist_ok=True)
    os.chmod(folder / "homes", 0o711)
    settings = HubSettings(
        folder=str(folder),
        password=password,
        ip=ip,
        port=port,
        store_url=shared_store(folder).start(),  # the learner role's URL
        instructor=instructor,
        idle_timeout=idle_timeout,
        hub_port=free_port(),
        proxy_api_port=free_port(),
        service_token=service_token,
    )
    settings.save()
    config = folder / "jupyterhub_config.py"
    config.write_text(
        "# Written by `python -m eslab classroom hub start`; edit eslab/hub.py instead.\n"
        "from eslab.hub import configure\n\n"
        f"configure(c, {str(folder)!r})  # noqa: F821\n"
    )
    log = open(folder / "jupyterhub.log", "ab")  # noqa: SIM115 - the hub keeps it
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HubError(f"JupyterHub exited with {process.returncode}:\n{_tail(folder)}")
        try:
            with urllib.request.urlopen(settings.url + "hub/api", timeout=2):
                return settings
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    stop(folder)
    raise HubError(
        f"JupyterHub did not answer on {settings.url} within {timeout:.0f} s:\n{_tail(folder)}"
    )


def stop(folder: str | Path = DEFAULT_FOLDER, timeout: float = 30.0) -> list[str]:
    """Stop the hub (its learners' servers and the proxy with it) and the store."""
    folder = Path(folder).resolve()
    stopped = []
    for name, what in ((HUB_PID, "hub"), (PROXY_PID, "proxy")):
        pid = _pid(folder / name)
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            stopped.append(what)
        (folder / name).unlink(missing_ok=True)
    for user in learners(folder):  # servers the hub could not stop (a crash, a SIGKILL)
        subprocess.run(["pkill", "-KILL", "-u", user], check=False)
    store = shared_store(folder)
    if store.running():
        store.stop()
        stopped.append("store")
    return stopped


def running(folder: str | Path = DEFAULT_FOLDER) -> bool:
    """Is the hub in ``folder`` up?"""
    pid = _pid(Path(folder) / HUB_PID)
    return pid is not None and _alive(pid)


def status(folder: str | Path = DEFAULT_FOLDER) -> dict[str, Any]:
    """What runs in ``folder``: the hub, its url, the store, the learners and their homes."""
    folder = Path(folder).resolve()
    if not (folder / SETTINGS).exists():
        return {"hub": False, "folder": str(folder)}
    settings = HubSettings.load(folder)
    return {
        "hub": running(folder),
        "folder": str(folder),
        "url": settings.url,
        "store": settings.store_url,
        "store_running": shared_store(folder).running(),
        "learners": learners(folder),
    }


def reset(folder: str | Path = DEFAULT_FOLDER) -> list[str]:
    """Between groups: remove every learner (user, home, hub record) and empty the store.

    The hub must be stopped first (a running server would keep its files open). The
    course in the repository, the hub's settings and the store's schema stay.
    """
    require_root()
    folder = Path(folder).resolve()
    if running(folder):
        raise HubError("Stop the hub first (`python -m eslab classroom hub stop`), then reset.")
    removed = []
    for user in learners(folder):
        subprocess.run(["pkill", "-KILL", "-u", user], check=False)
        subprocess.run(["userdel", "--remove", user], capture_output=True, check=False)
        removed.append(f"learner {user}")
    shutil.rmtree(folder / "homes", ignore_errors=True)
    for name in ("jupyterhub.sqlite", "jupyterhub_cookie_secret"):
        if (folder / name).exists():
            (folder / name).unlink()
            removed.append(name)
    cluster = shared_store(folder).cluster
    if cluster.initialised():
        was_running = cluster.running()
        cluster.start()
        clear_store(cluster.url())
        removed.append("every event in the shared store")
        if not was_running:
            cluster.stop()
    return removed


def shared_store(folder: str | Path = DEFAULT_FOLDER) -> Classroom:
    """The hub's shared store: a classroom cluster in ``<folder>/store``."""
    return Classroom(Path(folder).resolve() / "store")


def clear_store(url: str) -> None:
    """Empty the shared store's tables (the schema stays) and restart its positions."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        present = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        tables = [t for t in STORE_TABLES if t in present]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")


def learners(folder: str | Path | None = None) -> list[str]:
    """The system users a hub created (GECOS ``eslab learner``); only ``folder``'s if given."""
    homes = Path(folder).resolve() / "homes" if folder is not None else None
    return sorted(
        entry.pw_name
        for entry in pwd.getpwall()
        if entry.pw_gecos == LEARNER_MARK and (homes is None or Path(entry.pw_dir).parent == homes)
    )


# -- inside the hub process ---------------------------------------------------------------


def configure(c: Any, folder: str | Path) -> None:
    """Fill JupyterHub's config object ``c`` (called by ``<folder>/jupyterhub_config.py``)."""
    settings = HubSettings.load(folder)
    folder = Path(settings.folder)
    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{folder / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(folder / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(folder / HUB_PID)
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = settings.proxy_token
    c.ConfigurableHTTPProxy.pid_file = str(folder / PROXY_PID)
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.password
    c.SharedPasswordAuthenticator.admin_password = settings.admin_password
    c.Authenticator.allow_all = True
    c.Authenticator.admin_users = {settings.instructor}
    c.Authenticator.username_pattern = USERNAME_PATTERN
    c.JupyterHub.spawner_class = "localprocess"
    c.Spawner.pre_spawn_hook = lambda spawner: prepare_learner(spawner, settings)
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.notebook_dir = "~/notebooks"
    c.Spawner.environment = {
        "ESLAB_STORE": settings.store_url,
        "ESLAB_LEARNER": lambda spawner: spawner.user.name,
    }
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    # Kernels idle for the timeout shut down (the server culls them itself) …
    c.Spawner.args = [
        f"--MappingKernelManager.cull_idle_timeout={settings.idle_timeout}",
        "--MappingKernelManager.cull_interval=60",
        f"--ServerApp.shutdown_no_activity_timeout={settings.idle_timeout}",
    ]
    services: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    if settings.service_token:  # a scripted class (bench/hub_load.py) drives the REST API
        services.append({"name": "eslab-script", "api_token": settings.service_token})
        roles.append({"name": "admin", "services": ["eslab-script"]})
    # … and whole servers too, by jupyterhub-idle-culler when it is installed.
    if importlib.util.find_spec("jupyterhub_idle_culler") is not None:
        services.append(
            {
                "name": "idle-culler",
                "command": [
                    sys.executable,
                    "-m",
                    "jupyterhub_idle_culler",
                    f"--timeout={settings.idle_timeout}",
                ],
            }
        )
        roles.append(
            {
                "name": "idle-culler",
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
                "services": ["idle-culler"],
            }
        )
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles


def prepare_learner(spawner: Any, settings: HubSettings) -> None:
    """Pre-spawn hook: the learner's system user, 0700 home and own copy of the notebooks."""
    name = spawner.user.name
    home = Path(settings.folder) / "homes" / name
    ensure_learner(name, home)
    copy_course(home, instructor=name == settings.instructor)


def ensure_learner(name: str, home: Path) -> pwd.struct_passwd:
    """Create the system user ``name`` (home ``home``, mode 0700) unless the hub made it.

    A name that belongs to an existing account the hub did not create (root, postgres, a
    person) is refused: a learner never runs as anyone else.
    """
    if not re.match(USERNAME_PATTERN, name):
        raise HubError(f"{name!r} is not a learner name: use a-z, 0-9, '-' and '_'.")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
             "--comment", LEARNER_MARK, "--user-group", name],
            check=True, capture_output=True,
        )  # fmt: skip
        entry = pwd.getpwnam(name)
    if entry.pw_gecos != LEARNER_MARK:
        raise HubError(
            f"{name!r} is an account of this machine, not a learner: choose another name."
        )
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    settings_dir = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))
    for path in [home / ".jupyter", *(home / ".jupyter").rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return entry


def copy_course(home: Path, *, instructor: bool = False) -> list[Path]:
    """Copy the learner notebooks (never the solutions) into ``home/notebooks`` once."""
    target = home / "notebooks"
    copied: list[Path] = []
    if not target.exists():
        target.mkdir()
        for source in sorted(NOTEBOOKS.glob("*.ipynb")) + [NOTEBOOKS / "GLOSSARY.md"]:
            shutil.copy2(source, target / source.name)
            copied.append(target / source.name)
    if instructor and INSTRUCTOR_NOTEBOOKS.is_dir():
        for source in sorted(INSTRUCTOR_NOTEBOOKS.glob("*.ipynb")):
            if not (target / source.name).exists():
                shutil.copy2(source, target / source.name)
                copied.append(target / source.name)
    owner = home.stat()
    for path in [target, *target.iterdir()]:
        os.chown(path, owner.st_uid, owner.st_gid)
    return copied


# -- helpers ------------------------------------------------------------------------------


def _reachable(path: Path) -> None:
    """Let learners pass through every parent folder (o+x) to reach their homes."""
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(folder: Path, chars: int = 2000) -> str:
    log = folder / "jupyterhub.log"
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"
