"""Throwaway Redis and PostgreSQL servers, and the portal as a real server process, for fault tests.

A fault test stops, restarts or starves a service. It does that to servers of
its own, started here on free ports in temporary folders, never to the
machine's PostgreSQL (5432) or Redis (6379) that every other test shares.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import psycopg
import redis
from django.conf import settings

from tests.commands import on_the_test_database
from tests.worker import wait_until

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class ThrowawayRedis:
    """A redis-server of the test's own on a free port: stopping it touches nobody else's Redis."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def url_of(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
                # Nothing kept across a restart, as a broker that lost its memory.
                *("--save", "", "--appendonly", "no", "--logfile", str(self.folder / "redis.log")),
            ],
        )
        wait_until(self.answers, timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        assert not self.answers()

    def __enter__(self) -> ThrowawayRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def postgres_bin_dir() -> Path:
    """Where initdb and pg_ctl are: not on PATH on Debian, so pg_config says."""
    found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


class ThrowawayPostgres:
    """A PostgreSQL cluster of the test's own: initdb in a temporary folder, a free port, trust auth.

    Its socket is in its own folder too, so nothing else can reach it by
    accident. PostgreSQL refuses to run as root (CI's user): there, the
    cluster belongs to the `postgres` OS user and every server command runs as
    that user. Used as a context manager: the server is stopped and its folder
    removed on the way out, whether the test passed or not.
    """

    DATABASE = "selfcare"

    def __init__(self) -> None:
        self.bin_dir = postgres_bin_dir()
        # Under /tmp, not pytest's tmp_path: that is private to the test's
        # user, and the `postgres` user must reach its data folder and socket.
        self.folder = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.folder / "data"
        self.port = free_port()

    @property
    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            self._as_owner(*command), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}\n{self.log}")

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres", group="postgres")
        self._run(
            str(self.bin_dir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"),
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            # A test's data need not survive a power cut: no waiting on the disk.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.folder / "postgres.log"), "-o", options, "-w", "start"),
        )

    def stop(self) -> None:
        """Stop at once, as a crash or an operator's fast shutdown would: open connections are cut."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        assert not self.answers()

    def restart(self, *, down_for: float = 0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def create_database(self, name: str = DATABASE) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self.init()
            self.start()
            self.create_database()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            sys.stderr.write(f"--- throwaway PostgreSQL log ---\n{self.log}\n")
        self.cleanup()

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PortalServer:
    """The portal under gunicorn (threaded workers, as deployed), on this test's database unless `env` says otherwise.

    DEBUG is off, as in production: an error page is the one a customer would see.
    """

    def __init__(
        self, *, env: dict[str, str], unset: frozenset[str] = frozenset(), workers: int = 1, threads: int = 4
    ) -> None:
        self.port = free_port()
        self.env = env
        self.unset = unset
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=5):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # it answers, even if something behind it is down
        except OSError:
            return False

    def start(self) -> PortalServer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "selfcare.wsgi:application",
                *("--bind", f"127.0.0.1:{self.port}", "--worker-class", "gthread"),
                *("--workers", str(self.workers), "--threads", str(self.threads), "--timeout", "60"),
            ],
            cwd=BASE_DIR,
            env={
                **{key: value for key, value in os.environ.items() if key not in self.unset},
                **on_the_test_database(),
                "DEBUG": "false",
                **self.env,
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the portal did not start:\n{self.log}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc_type is not None:
            sys.stderr.write(f"--- portal server log ---\n{self.log}\n")
        Path(self._log.name).unlink(missing_ok=True)
