"""Keep a child process running: `kameng serve` supervises its embedded timer worker with it.

A timer worker that dies must come back: deadlines are also enforced when an action arrives
(kameng.aftersales), but only the sweeper refunds a silent merchant's small case or closes an
unanswered offer when nobody acts. Each exit is logged and the child restarted after a back-off
that doubles (1 s, 2 s, 4 s … up to a minute) and starts again at 1 s once a child has run for a
minute: a worker that crashes at once is not restarted in a tight loop. /healthz reports the timer
lag (kameng.ops.health), so a worker that hangs instead of dying shows there.
"""

import logging
import subprocess
import threading
import time
from collections.abc import Sequence

log = logging.getLogger("kameng.serve")


class Supervised:
    """One child process, restarted with back-off whenever it exits until `stop()`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        healthy_after: float = 60.0,
    ):
        self.name, self.argv, self.env = name, list(argv), env
        self.first_delay, self.max_delay, self.healthy_after = first_delay, max_delay, healthy_after
        self.restarts = 0
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> "Supervised":
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._process = subprocess.Popen(self.argv, env=self.env)

    def _watch(self) -> None:
        delay = self.first_delay
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= self.healthy_after:
                delay = self.first_delay  # it ran fine for a while: a fresh failure, not a crash loop
            log.warning("%s (pid %s) exited with code %s; restarting in %.0f s", self.name, process.pid, code, delay)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()
            log.warning("%s restarted (pid %s, restart %d)", self.name, self.pid, self.restarts)
            delay = min(delay * 2, self.max_delay)

    def signal_stop(self) -> None:
        """Stop restarting and ask the child to end (SIGTERM); safe inside a signal handler."""
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    def stop(self, timeout: float = 15) -> None:
        self.signal_stop()
        with self._lock:
            process = self._process
        if process is not None:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout=timeout)
