"""Starting sandboxed processes from one long-lived thread, and killing them on a wall clock.

bubblewrap's `--die-with-parent` uses PR_SET_PDEATHSIG, which fires when the
*thread* that forked the process exits, not the whole parent process. A server
spawned from a short-lived worker thread (an `anyio.to_thread` call, a request
handler) would be killed the moment that thread ends. So every sandboxed process
is forked by one dedicated thread that lives as long as the host process; when
the host dies, that thread dies with it and every sandbox is killed.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

_Request = tuple[Future, Sequence[str], dict[str, Any]]


class Spawner:
    """A thread that runs `subprocess.Popen` for its callers and never exits."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen:
        """`subprocess.Popen(argv, **kwargs)`, forked from the spawner thread."""
        self._start()
        future: Future = Future()
        self._requests.put((future, argv, kwargs))
        return future.result()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="tessera-sandbox-spawner",
                                                daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            future, argv, kwargs = self._requests.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)


_spawner: Spawner | None = None
_spawner_lock = threading.Lock()


def spawner() -> Spawner:
    """The process's one spawner, created on first use (nothing starts at import)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = Spawner()
        return _spawner


class WallClock:
    """Kill a process group after `seconds`, unless cancelled first."""

    def __init__(self, process: subprocess.Popen, seconds: float | None) -> None:
        self.fired = threading.Event()
        self._process = process
        self._timer = None
        if seconds is not None:
            self._timer = threading.Timer(seconds, self._kill)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _kill(self) -> None:
        if self._process.poll() is None:
            self.fired.set()
            kill_group(self._process)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process's group (it leads one: spawned with start_new_session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill()
        except ProcessLookupError:
            pass
