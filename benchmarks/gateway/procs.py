"""Processes under test: start them pinned to a core, find the one that listens, read its CPU time and memory.

The readers parse Linux's ``/proc`` text; the parsers take the text so they can be tested on any machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


def cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks, all threads) from the text of ``/proc/<pid>/stat``.

    The command name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.
    """
    rest = stat[stat.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(rest[11]) + int(rest[12])


def process_group(stat: str) -> int:
    """The process group id (field 5) from the text of ``/proc/<pid>/stat``."""
    return int(stat[stat.rindex(")") + 2:].split()[2])


def group_pids(pgid: int) -> list[int]:
    """The live processes of group ``pgid``: a server's launcher and its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if process_group((entry / "stat").read_text()) == pgid:
                    found.append(int(entry.name))
    return found


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system, every thread) of every live process in group ``pgid``."""
    ticks = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            ticks += cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
    return ticks / os.sysconf("SC_CLK_TCK")


def group_rss_kib(pgid: int) -> int:
    """Resident set (KiB) of every live process in group ``pgid``, added up."""
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError, KeyError):
            total += status_kib(Path(f"/proc/{pid}/status").read_text(), "VmRSS")
    return total


def status_kib(status: str, key: str) -> int:
    """A ``kB`` value such as VmHWM (peak resident set) or VmRSS from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    raise KeyError(f"{key} not in /proc status text")


def listen_inodes(net_tcp: str, port: int) -> set[int]:
    """Inodes of the sockets listening on ``port``, from the text of ``/proc/net/tcp`` or ``tcp6``."""
    found: set[int] = set()
    for line in net_tcp.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10 or cols[3] != _LISTEN:
            continue
        if int(cols[1].rsplit(":", 1)[1], 16) == port:
            found.add(int(cols[9]))
    return found


def listening_pid(port: int) -> int | None:
    """The process that holds the listening socket on ``port`` (the server itself, not a launcher)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            inodes |= listen_inodes(Path(table).read_text(), port)
    targets = {f"socket:[{i}]" for i in inodes}
    if not targets:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        return int(entry.name)
    return None


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds (user + system, every thread) and memory of one process at one moment."""

    cpu_s: float
    rss_kib: int
    hwm_kib: int


def usage(pid: int) -> Usage:
    proc = Path(f"/proc/{pid}")
    status = (proc / "status").read_text()
    ticks = cpu_ticks((proc / "stat").read_text())
    return Usage(ticks / os.sysconf("SC_CLK_TCK"), status_kib(status, "VmRSS"), status_kib(status, "VmHWM"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: int | None, argv: Sequence[str]) -> list[str]:
    """``argv`` under ``taskset -c core`` (unchanged when ``core`` is None or taskset is missing)."""
    if core is None or shutil.which("taskset") is None:
        return list(argv)
    return ["taskset", "-c", str(core), *argv]


class Server:
    """A child process that serves on ``port``; stop() ends it with SIGINT, then SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log: Path,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.port, self.log = name, port, log
        self._out = log.open("wb")
        # Own process group, so stop() reaches a launcher's children too.
        self.proc = subprocess.Popen(list(argv), stdout=self._out, stderr=subprocess.STDOUT,
                                     env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True)
        self.pid: int | None = None

    def wait_listening(self, timeout: float) -> int:
        """Wait until something accepts on the port; return the pid that listens. Raises RuntimeError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it listened; "
                                   f"its log ends:\n{self.tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pid = listening_pid(self.port)
                if pid is not None:
                    self.pid = pid
                    return pid
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not listen on port {self.port} within {timeout:.0f} s; its log "
                           f"ends:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 30.0) -> int | None:
        """Ask the server to shut down (SIGINT: uvicorn runs its shutdown, which flushes Proctor's audit)."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        self._out.close()
        return self.proc.returncode
