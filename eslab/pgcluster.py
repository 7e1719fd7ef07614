"""A PostgreSQL cluster of its own: ``initdb`` + ``pg_ctl`` in a folder, on 127.0.0.1.

Used by the tests (a throwaway cluster per test session) and by the classroom store
(``python -m eslab classroom start``). It needs the server binaries (Debian:
``apt-get install postgresql``), never a running system service. ``initdb`` refuses to
run as root, so as root the cluster runs as the unprivileged ``postgres`` user (Debian's
package creates it), which then owns the folder.

    cluster = PgCluster(tmp_path / "pg")
    cluster.start()              # initdb on first use, then pg_ctl start; wal_level=logical
    cluster.url()                # 'postgresql://eslab@127.0.0.1:PORT/eslab'
    cluster.stop(mode="immediate")   # a crash, for fault tests; start() again recovers
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from eslab.errors import EslabError

SEARCH_PATTERNS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
SUPERUSER = "eslab"
DATABASE = "eslab"
INSTALL_HINT = (
    "Install the PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`; "
    "macOS: `brew install postgresql`), or set ESLAB_PG_BIN to the folder that holds "
    "initdb and pg_ctl."
)


class PgClusterError(EslabError):
    """The cluster could not be created, started or stopped; the message says why."""


def find_bin_dir() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (``$ESLAB_PG_BIN``, Debian's, or PATH)."""
    candidates = [os.environ.get("ESLAB_PG_BIN", "")]
    for pattern in SEARCH_PATTERNS:
        candidates += sorted(glob.glob(pattern), reverse=True)  # newest version first
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgCluster:
    """One cluster in ``directory``, listening on ``host``:``port`` (a free port if 0)."""

    directory: Path
    port: int = 0
    host: str = "127.0.0.1"
    bin_dir: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()
        self.bin_dir = self.bin_dir or find_bin_dir()
        if self.bin_dir is None:
            raise PgClusterError(f"No PostgreSQL server binaries found. {INSTALL_HINT}")
        port_file = self.directory / "eslab-port"
        if not self.port:
            self.port = int(port_file.read_text()) if port_file.exists() else free_port()

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder (``PGDATA``)."""
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        """The server's log, the first place to look when it will not start."""
        return self.directory / "server.log"

    def url(
        self, user: str = SUPERUSER, password: str | None = None, dbname: str = DATABASE
    ) -> str:
        """A connection string for ``user`` (with ``password`` if given)."""
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def initialised(self) -> bool:
        """Has ``initdb`` run in this folder?"""
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        """Is the server up (``pg_ctl status``)?"""
        if not self.initialised():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self, timeout: float = 30.0) -> PgCluster:
        """Create the cluster on first use, then start it and wait until it accepts."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "eslab-port").write_text(str(self.port))
        self._hand_over(self.directory)
        if not self.initialised():
            self._call(
                [
                    str(self._bin("initdb")),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "-A",
                    "trust",
                    "--no-instructions",
                    "-E",
                    "UTF8",
                ],
                "initdb",
            )
        if self.running():
            return self
        options = {
            "port": str(self.port),
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.directory),
            "wal_level": "logical",
            "max_replication_slots": "10",
            "max_wal_senders": "10",
            "fsync": "on",
            **self.settings,
        }
        opts = " ".join(f"-c {key}={value}" for key, value in options.items())
        self._pg_ctl("start", "-w", "-t", str(int(timeout)), "-o", opts, "-l", str(self.log_file))
        self._ensure_database()
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (clean), or ``immediate`` (a crash; recovery on start)."""
        if mode not in ("smart", "fast", "immediate"):
            raise PgClusterError(f"mode must be 'smart', 'fast' or 'immediate', not {mode!r}.")
        if self.running():
            self._pg_ctl("stop", "-w", "-m", mode)

    def destroy(self) -> None:
        """Stop the server and delete the folder."""
        self.stop(mode="immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def psql_args(self) -> list[str]:
        """Arguments that start ``psql`` on this cluster as the superuser."""
        return [str(self._bin("psql")), "-h", self.host, "-p", str(self.port), "-U", SUPERUSER]

    # -- internals ----------------------------------------------------------------------

    def _bin(self, name: str) -> Path:
        assert self.bin_dir is not None
        return self.bin_dir / name

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), *args]
        return self._call(command, f"pg_ctl {args[0]}", check=check)

    def _call(
        self, command: list[str], what: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if os.geteuid() == 0:  # initdb and postgres refuse root
            command = ["runuser", "-u", _unprivileged_user(), "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.directory)
        if check and done.returncode != 0:
            log = self.log_file.read_text()[-1500:] if self.log_file.exists() else ""
            raise PgClusterError(
                f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
                + (f"\nServer log:\n{log}" if log else "")
            )
        return done

    def _hand_over(self, path: Path) -> None:
        """As root, give the folder to the unprivileged user that runs the server."""
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam(_unprivileged_user())
        for parent in [path, *path.parents]:  # the server user must be able to reach it
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, 0o700)

    def _ensure_database(self, attempts: int = 50) -> None:
        """Create the ``eslab`` database once (``postgres`` exists after initdb)."""
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
        for _ in range(attempts):
            found = self._call(
                [*self.psql_args(), "-d", "postgres", "-tAc", query], "psql", check=False
            )
            if found.returncode == 0:
                if found.stdout.strip() != "1":
                    self._call(
                        [*self.psql_args(), "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}"],
                        "CREATE DATABASE",
                    )
                return
            time.sleep(0.1)
        raise PgClusterError(f"The server on port {self.port} did not accept connections.")


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PgClusterError(
        "Running as root, and no unprivileged user ('postgres') to run the server as. "
        + INSTALL_HINT
    )
