"""Messaging throughput benchmark: N due SMS, W worker processes, one killed half-way.

    python bench/messaging_throughput.py --messages 20000 --workers 2 --kill-one [--database URL|postgres]

Not a test. It starts the fake Twilio (tests/fakes/twilio_server.py) as a subprocess with
50 ms latency, 1 % HTTP 500 and ~1 % HTTP 429, enqueues N intake receipts that are already
due, starts ``--workers`` worker processes (this script in ``--worker`` mode, each running
a ``messaging.dispatcher.Dispatcher``), optionally SIGKILLs one of them when about half the
messages are sent and starts a replacement, waits until every message is final, and prints
throughput, lag, and what the fake actually accepted (duplicates, lost). The last line is
always ``messages/s=<float> duplicates=<int> lost=<int>``.

Everything it starts (fake, workers, PostgreSQL, temp dirs) is cleaned up, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FAKE_SERVER = ROOT / "tests" / "fakes" / "twilio_server.py"
ACCOUNT_SID = "AC" + "0" * 32  # the fake's defaults
AUTH_TOKEN = "fake-twilio-auth-token"
SMS_FROM = "+15005550006"
REFERENCE = re.compile(r"PU-\d{4}-\d{4}")
FINAL = ("sent", "failed", "expired", "cancelled")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def log(text: str) -> None:
    print("[{:%H:%M:%S}] {}".format(datetime.now(), text), flush=True)


# --- worker mode ------------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    """One dispatcher process: drain() until SIGTERM or until nothing is left to do."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import sessionmaker

    from messaging.channels import ChannelSettings, build_channels
    from messaging.dispatcher import Dispatcher, DispatchSettings
    from messaging.models import Message, MessageStatus
    from messaging.policy import QuietHours
    from messaging.templates import Renderer, load_templates
    from portal.db import make_engine

    # Only the dispatcher's pumping thread (and this loop) use the database.
    engine = make_engine(args.database)
    sessions = sessionmaker(engine, expire_on_commit=False)

    # The channels exactly as the worker builds them, pointed at the fake.
    channels = build_channels(
        ChannelSettings(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_sms_from=SMS_FROM,
            twilio_api_base_url=args.fake_url,
            timeout=10,
            dispatch_concurrency=args.concurrency,
        )
    )

    renderer = Renderer(load_templates(), ROOT / "translations", "Europe/Rome", "Comune di Prato")
    dispatcher = Dispatcher(
        sessions,
        channels,
        renderer,
        QuietHours.from_quiet("Europe/Rome", {}),
        DispatchSettings(
            worker_id=args.worker_id,
            batch_size=args.batch,
            concurrency=args.concurrency,
            lease=timedelta(seconds=args.lease),
            max_attempts=20,
            backoff_base=0.5,
            backoff_cap=5.0,
            rates={},
        ),
    )
    stop = threading.Event()

    def on_term(_signum: int, _frame: object) -> None:
        stop.set()  # finish the sends in flight, hand back the rest, then leave
        dispatcher.stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    profiler = None
    thread_profilers: list = []
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        # cProfile sees one thread only: give every sending thread its own, merged at the end.
        local = threading.local()
        work = dispatcher._work

        def profiled_work(*arguments: object) -> None:
            own = getattr(local, "profiler", None)
            if own is None:
                own = local.profiler = cProfile.Profile()
                thread_profilers.append(own)
            own.enable()
            try:
                work(*arguments)  # type: ignore[arg-type]
            finally:
                own.disable()

        dispatcher._work = profiled_work  # type: ignore[method-assign]
    totals: Counter[str] = Counter()
    started, cpu_at_start = time.monotonic(), time.process_time()
    try:
        while not stop.is_set():
            report = dispatcher.drain()
            for name in ("claimed", "sent", "retried", "failed", "deferred", "released"):
                totals[name] += getattr(report, name)
            if report.claimed == 0:
                with sessions() as session:
                    open_ = session.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.status.in_([MessageStatus.PENDING.value, MessageStatus.SENDING.value]))
                    )
                if not open_:
                    break
                stop.wait(0.2)  # retries in back-off, or a dead worker's lease still running
    finally:
        dispatcher.close()
        if profiler is not None:
            import pstats

            profiler.disable()
            merged = pstats.Stats(profiler)
            for own in thread_profilers:
                merged.add(own)
            merged.dump_stats(args.profile)
        channels["sms"].client.http_client.session.close()  # type: ignore[attr-defined]
        engine.dispose()
    cpu, times = time.process_time(), os.times()
    print(
        "worker {} done in {:.1f}s, cpu {:.1f}s (user {:.1f}s, system {:.1f}s; {:.1f}s after start-up): {}".format(
            args.worker_id, time.monotonic() - started, cpu, times.user, times.system, cpu - cpu_at_start, dict(totals)
        ),
        file=sys.stderr,
        flush=True,
    )
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc), 0 if unknown."""
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (Linux /proc/stat), 0 if unknown."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(value) for value in f.readline().split()[1:]]
        return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle, not iowait
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """Where the CPU went during a run: workers, fake, PostgreSQL, and everything else.

    Workers are this script's children, so once reaped their CPU is in RUSAGE_CHILDREN.
    PostgreSQL's backends come and go with connections: they are sampled while they run.
    """

    def __init__(self, fake_pid: int, postmaster_pid: int | None) -> None:
        import resource

        self._resource = resource
        self.fake_pid, self.postmaster_pid = fake_pid, postmaster_pid
        self.machine = machine_cpu_seconds()
        self.children = self._children()
        self.fake = cpu_seconds(fake_pid)
        self.postgres: dict[int, float] = {}
        self.sample()
        self.postgres_before = dict(self.postgres)

    def _children(self) -> float:
        usage = self._resource.getrusage(self._resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def sample(self) -> None:
        """Remember the CPU of the postmaster and each of its children (backends included)."""
        if self.postmaster_pid is None:
            return
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/{}/stat".format(entry)) as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            pid = int(entry)
            if pid == self.postmaster_pid or parent == self.postmaster_pid:
                self.postgres[pid] = max(self.postgres.get(pid, 0.0), cpu_seconds(pid))

    def stop(self) -> None:
        """The end of the run: call once every worker has exited and been reaped."""
        self.sample()
        self.workers_used = self._children() - self.children
        self.fake_used = cpu_seconds(self.fake_pid) - self.fake
        self.machine_used = machine_cpu_seconds() - self.machine

    def report(self, sent: int, wall: float) -> str:
        """One line: CPU seconds per party, and the workers' milliseconds per sent message."""
        workers, fake, machine = self.workers_used, self.fake_used, self.machine_used
        postgres = sum(cpu - self.postgres_before.get(pid, 0.0) for pid, cpu in self.postgres.items())
        others = machine - workers - fake - postgres
        per = 1000.0 / sent if sent else float("nan")
        return (
            "machine {:.1f} of {:.1f} cpu-s ({} cores); workers {:.1f} ({:.2f} ms/msg), fake {:.1f} ({:.2f} ms/msg), "
            "postgres {:.1f} ({:.2f} ms/msg), rest {:.1f}".format(
                machine, wall * (os.cpu_count() or 1), os.cpu_count(), workers, workers * per, fake, fake * per,
                postgres, postgres * per, others,
            )
        )


def postmaster_pid(datadir: str) -> int | None:
    """The pid of the server owning ``datadir`` (first line of its postmaster.pid)."""
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


# --- orchestration -----------------------------------------------------------------------------


class Bench:
    """Owns every resource the benchmark starts, so cleanup() can undo all of them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmpdir = tempfile.mkdtemp(prefix="bench-messaging-")
        self.pg = None
        self.fake: subprocess.Popen | None = None
        self.fake_url = ""
        self.workers: list[subprocess.Popen] = []
        self.worker_seq = 0
        self.database = ""

    # resources

    def setup_database(self) -> None:
        from portal.schema import upgrade

        choice = self.args.database
        if not choice:
            self.database = "sqlite:///{}".format(os.path.join(self.tmpdir, "bench.db"))
        elif choice == "postgres":
            sys.path.insert(0, str(ROOT / "tests"))
            from pgserver import PostgresServer

            self.pg = PostgresServer().start()
            self.pg.create_database("bench", template="template0")
            self.database = self.pg.url("bench")
        else:
            self.database = choice
        upgrade(self.database)
        log("database {} migrated".format(self.database))

    def start_fake(self) -> None:
        self.fake = subprocess.Popen(
            [
                sys.executable, str(FAKE_SERVER), "--port", "0", "--latency", "0.05",
                "--fail-rate", "0.01", "--rate-limit-rate", "0.01", "--seed", "1",
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it ourselves
        )
        line = self.fake.stdout.readline().strip()  # type: ignore[union-attr]
        if not line.startswith("listening "):
            raise RuntimeError("fake Twilio did not start: {!r}".format(line))
        self.fake_url = line.split(" ", 1)[1]
        log("fake Twilio at {}".format(self.fake_url))

    def start_worker(self) -> subprocess.Popen:
        self.worker_seq += 1
        worker_id = "bench-w{}".format(self.worker_seq)
        command = [
            sys.executable, str(Path(__file__).resolve()), "--worker",
            "--database", self.database, "--fake-url", self.fake_url, "--worker-id", worker_id,
            "--concurrency", str(self.args.concurrency), "--batch", str(self.args.batch),
            "--lease", str(self.args.lease),
        ]
        if self.args.profile:
            command += ["--profile", os.path.join(self.args.profile, "{}.prof".format(worker_id))]
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        process = subprocess.Popen(command, env=env, start_new_session=True)
        self.workers.append(process)
        log("started worker {} (pid {})".format(worker_id, process.pid))
        return process

    def stop_workers(self, timeout: float = 60) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.workers:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def cleanup(self) -> None:
        try:
            self.stop_workers(timeout=30)
        except Exception as exc:  # noqa: BLE001 - cleanup must go on
            log("stopping workers: {}".format(exc))
        if self.fake is not None and self.fake.poll() is None:
            self.fake.terminate()
            try:
                self.fake.wait(15)
            except subprocess.TimeoutExpired:
                self.fake.kill()
                self.fake.wait()
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # the run

    def enqueue(self, engine) -> datetime:  # type: ignore[no-untyped-def]
        from sqlalchemy.orm import Session

        from messaging.outbox import Recipient, enqueue

        n = self.args.messages
        send_at = utcnow() - timedelta(minutes=1)
        started = time.monotonic()
        chunk = 2000
        for first in range(0, n, chunk):
            with Session(engine) as session:
                for i in range(first, min(n, first + chunk)):
                    enqueue(
                        session,
                        Recipient(key="person:{}".format(i), language="it", phone="+39333{:07d}".format(i), channels=("sms",)),
                        "intake_receipt",
                        {
                            "reference": "PU-{:04d}-{:04d}".format(i // 10000, i % 10000),
                            "helpline": "800 123 456",
                            "link": "http://127.0.0.1/x",
                        },
                        send_at,
                        "bench:{}".format(i),
                        channels=("sms",),
                    )
                session.commit()
        log("enqueued {} messages in {:.1f}s".format(n, time.monotonic() - started))
        return send_at

    def counts(self, engine) -> Counter[str]:  # type: ignore[no-untyped-def]
        from sqlalchemy import func, select

        from messaging.models import Message

        with engine.connect() as connection:
            rows = connection.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        return Counter({status: count for status, count in rows})

    def run(self) -> tuple[float, int, int]:
        from sqlalchemy import select

        from messaging.models import Message, MessageAttempt
        from portal.db import make_engine

        args = self.args
        n = args.messages
        self.setup_database()
        self.start_fake()
        engine = make_engine(self.database)
        self.enqueue(engine)

        meter = CpuMeter(self.fake.pid, postmaster_pid(self.pg.datadir) if self.pg else None)  # type: ignore[union-attr]
        workers_started = utcnow()
        t0 = time.monotonic()  # the meter's machine figure starts here too (give or take a millisecond)
        for _ in range(args.workers):
            self.start_worker()
        killed_at = None
        last_log = 0.0
        timed_out = False
        while True:
            time.sleep(0.25)
            meter.sample()
            counts = self.counts(engine)
            final = sum(counts[s] for s in FINAL)
            now = time.monotonic()
            if args.kill_one and killed_at is None and counts["sent"] >= n // 2:
                victim = self.workers[0]
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed_at = now - t0
                log("SIGKILLed worker pid {} at {:.1f}s with {} sent, {} sending".format(
                    victim.pid, killed_at, counts["sent"], counts["sending"]))
                self.start_worker()
            if now - last_log >= 5:
                last_log = now
                log("{:.0f}s: {}".format(now - t0, dict(counts)))
            if final >= n:
                break
            if now - t0 > args.timeout:
                log("TIMEOUT after {:.0f}s: {}".format(now - t0, dict(counts)))
                timed_out = True
                break
            alive = [w for w in self.workers if w.poll() is None]
            if not alive:
                log("all workers exited with {} of {} final: {}".format(final, n, dict(counts)))
                break
        meter.sample()
        self.stop_workers()
        meter.stop()
        wall = time.monotonic() - t0

        # --- figures from the database
        with engine.connect() as connection:
            rows = connection.execute(select(Message.status, Message.send_at, Message.sent_at)).all()
            attempts = Counter(
                outcome for (outcome,) in connection.execute(select(MessageAttempt.outcome)).all()
            )
        counts = Counter(status for status, _, _ in rows)
        sent_times = [sent_at for status, _, sent_at in rows if status == "sent" and sent_at is not None]
        lags = sorted(
            (sent_at - max(send_at, workers_started)).total_seconds()
            for status, send_at, sent_at in rows
            if status == "sent" and sent_at is not None
        )
        engine.dispose()
        sent = len(sent_times)
        span = (max(sent_times) - workers_started).total_seconds() if sent_times else float("nan")
        rate = sent / span if sent_times and span > 0 else 0.0

        # --- figures from the fake: what the "provider" really accepted
        with urllib.request.urlopen(self.fake_url + "/_fake/messages", timeout=60) as response:
            accepted = json.load(response)
        with urllib.request.urlopen(self.fake_url + "/_fake/stats", timeout=60) as response:
            stats = json.load(response)
        references = Counter()
        for record in accepted:
            match = REFERENCE.search(record.get("body") or "")
            references[match.group(0) if match else "?"] += 1
        distinct = len(references)
        duplicates = len(accepted) - distinct
        lost = n - distinct

        def pct(p: float) -> float:
            return lags[min(len(lags) - 1, int(round(p * (len(lags) - 1))))] if lags else float("nan")

        print()
        print("database          {}".format("sqlite" if self.database.startswith("sqlite") else "postgresql"))
        print("messages          {}  workers {}  kill-one {}{}".format(
            n, args.workers, bool(args.kill_one), "  (killed at {:.1f}s)".format(killed_at) if killed_at else ""))
        print("concurrency/batch {}/{}  lease {}s".format(args.concurrency, args.batch, args.lease))
        print("load average      {:.2f} {:.2f} {:.2f} (other processes on the machine count too)".format(*os.getloadavg()))
        print("wall time         {:.1f}s (workers start to all final){}".format(wall, "  TIMED OUT" if timed_out else ""))
        print("sent              {}  in {:.1f}s (first worker start to last sent_at)".format(sent, span))
        print("messages/s        {:.1f}  per worker {:.1f}".format(rate, rate / args.workers))
        print("lag p50/p95/max   {:.2f}s / {:.2f}s / {:.2f}s".format(pct(0.5), pct(0.95), lags[-1] if lags else float("nan")))
        print("db statuses       {}".format(dict(counts)))
        print("failed rows       {}".format(counts["failed"]))
        print("attempt outcomes  {}".format(dict(attempts)))
        print("fake stats        {}".format(stats))
        print("cpu               {}".format(meter.report(sent, wall)))
        print("fake accepted     {}  distinct references {}".format(len(accepted), distinct))
        if duplicates:
            print("duplicated refs   {}".format([ref for ref, c in references.items() if c > 1][:20]))
        print("messages/s={:.1f} duplicates={} lost={}".format(rate, duplicates, lost))
        return rate, duplicates, lost


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-one", action="store_true", help="SIGKILL one worker half-way, start a new one")
    parser.add_argument("--database", default="", help="'postgres' for a throwaway server, or an empty database URL")
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--lease", type=float, default=20.0, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=1800.0, help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="", help=argparse.SUPPRESS)  # dir for cProfile dumps (all threads)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return run_worker(args)
    bench = Bench(args)

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    # A shell starts background jobs with SIGINT ignored; Ctrl-C must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        bench.run()
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
