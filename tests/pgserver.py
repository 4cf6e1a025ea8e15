"""A throwaway PostgreSQL server for the test suite, built from the local binaries.

Stdlib only at import time (psycopg is imported lazily, where SQL is spoken), so a test
module can import it and decide to skip before anything else can fail.
"""
import atexit
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

PG_USER = "postgres"  # system account used when we are root; also the superuser name
_NEEDED = ("initdb", "pg_ctl", "postgres")
_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",  # no
             "max_connections": "200", "listen_addresses": "'127.0.0.1'"}  # durability needed


class PostgresServerError(RuntimeError):
    """Raised when the server cannot be initialised or started; carries the log tail."""


def find_binaries() -> str | None:
    """Locate the bin dir holding initdb/pg_ctl/postgres, or None if no server is installed.

    Order: pg_config --bindir (what the system says), Debian's versioned dirs (newest
    first; Debian keeps them off PATH), then PATH (symlinks resolved to the real dir).
    """
    candidates = []
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        candidates.append(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    versions = [d.split("/")[-2] for d in glob.glob("/usr/lib/postgresql/*/bin")]
    versions.sort(key=lambda v: [int(x) for x in v.split(".") if x.isdigit()], reverse=True)
    candidates += [f"/usr/lib/postgresql/{v}/bin" for v in versions]
    if shutil.which("pg_ctl"):
        candidates.append(os.path.dirname(os.path.realpath(shutil.which("pg_ctl"))))
    for bindir in filter(None, candidates):  # must hold the server, not just libpq-dev tools
        if all(os.access(os.path.join(bindir, b), os.X_OK) for b in _NEEDED):
            return bindir
    return None


def _is_root() -> bool:
    """PostgreSQL refuses to run as root, so root must hand the work to PG_USER."""
    return os.geteuid() == 0


def _pg_uid_gid() -> tuple[int, int] | None:
    """uid/gid of the postgres system user (created by Debian's package), if it exists."""
    try:
        return pwd.getpwnam(PG_USER).pw_uid, pwd.getpwnam(PG_USER).pw_gid
    except KeyError:
        return None


def available() -> bool:
    """True if start() can work here: server binaries, and (as root) a user to drop to."""
    if not _is_root():
        return find_binaries() is not None
    return (find_binaries() is not None and _pg_uid_gid() is not None
            and bool(shutil.which("runuser") or shutil.which("su")))


class PostgresServer:
    """One private cluster in a temp dir, on a random 127.0.0.1 port, trust auth.

    Use as a context manager, or call start()/stop(); stop() is also registered with
    atexit so an aborted test run does not leave a postmaster behind.
    """

    def __init__(self, bindir: str | None = None, start_timeout: float = 30.0):
        """Store settings only; nothing touches the disk until start()."""
        self.bindir = bindir or find_binaries()
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.tmpdir: str | None = None
        self.datadir = self.logfile = ""
        self._running = False
        self._owner_pid = os.getpid()  # a forked child inherits atexit, must not stop us

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a PostgreSQL binary, as PG_USER if we are root (runuser, else su)."""
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if _is_root():
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", PG_USER, "--", *cmd]
            else:
                cmd = ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        # cwd=tmpdir: PG_USER may not be allowed into our cwd (e.g. /root).
        proc = subprocess.run(cmd, cwd=self.tmpdir, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=self.start_timeout + 30)
        if check and proc.returncode != 0:
            raise PostgresServerError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n"
                                      f"{proc.stdout}{proc.stderr}{self._log_tail()}")
        return proc

    def _log_tail(self, lines: int = 40) -> str:
        """Last lines of the server log: the only place startup errors are explained."""
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return "\n--- server log tail ---\n" + "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> "PostgresServer":
        """initdb a fresh cluster, start it and wait until it accepts connections."""
        if self._running:
            return self
        if not self.bindir:
            raise PostgresServerError("no PostgreSQL server binaries found")
        if _is_root() and _pg_uid_gid() is None:
            raise PostgresServerError(f"running as root but there is no {PG_USER!r} user")
        self._owner_pid = os.getpid()
        self.tmpdir = tempfile.mkdtemp(prefix="pgserver-")
        atexit.register(self.stop)
        try:
            if _is_root():
                os.chown(self.tmpdir, *_pg_uid_gid())  # mkdtemp is 0700: only owner gets in
            self.datadir = os.path.join(self.tmpdir, "data")
            self.logfile = os.path.join(self.tmpdir, "server.log")
            self._initdb()
            with socket.socket() as sock:  # kernel-chosen free port: never the system's 5432
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
            conf = dict(_SETTINGS, port=str(self.port),
                        unix_socket_directories=f"'{self.tmpdir}'")
            # Appending as root keeps the file's postgres ownership; later lines win.
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("\n# pgserver.py\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
            self._running = True  # from here on, stop() must try to shut it down
            self._run("pg_ctl", "start", "-D", self.datadir, "-l", self.logfile, "-w",
                      "-t", str(int(self.start_timeout)))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        """Create the cluster; C.UTF-8 collation if the OS has it, else --no-locale."""
        base = ["initdb", "-D", self.datadir, "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                "--no-sync"]  # throwaway: skip the final fsync of the new cluster
        if self._run(*base, "--locale=C.UTF-8", check=False).returncode != 0:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self._run(*base, "--no-locale")

    def _wait_ready(self) -> None:
        """pg_ctl -w watches the pid file; confirm a real TCP login works too."""
        import psycopg
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with psycopg.connect(self._conninfo("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresServerError(f"server not accepting connections: {exc}"
                                              f"{self._log_tail()}") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """Kill the server (immediate: no checkpoint, nothing to keep) and delete its files."""
        if os.getpid() != self._owner_pid:
            return
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
                self._run("pg_ctl", "stop", "-D", self.datadir, "-m", "immediate", check=False)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self) -> "PostgresServer":
        """`with PostgresServer() as server:` starts it, and __exit__ always stops it."""
        return self.start()

    def __exit__(self, *exc_info) -> None:
        """Stop even when the block raised: the server must not outlive its tests."""
        self.stop()

    def _conninfo(self, dbname: str) -> str:
        """libpq conninfo for psycopg; TCP so it never picks a system server's socket."""
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for create_engine(), using the psycopg 3 driver."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, statement) -> None:
        """Run one statement on the maintenance DB; CREATE/DROP DATABASE need autocommit."""
        import psycopg
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE (optionally from a template, e.g. a migrated one to clone fast)."""
        from psycopg import sql
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._admin(stmt)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ... WITH (FORCE): leaked pool connections must not block cleanup."""
        from psycopg import sql
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
