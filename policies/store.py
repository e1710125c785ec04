"""`PolicyStore`: the policy in force, reloaded on change, never replaced by a broken one.

`current()` is cheap enough for every tool call: at most once per
`poll_interval_s` it compares the directory's file names, sizes and
modification times with the last load, and only when they differ does it read
and compile the files again. A policy that fails to load leaves the previous
one in force; the failure is kept in `last_error` and logged, and the same
broken files are not re-read until they change again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies.decision import Policy
from policies.loader import PolicyError, load_directory

log = logging.getLogger("tessera.policies")
DEFAULT_DIRECTORY = Path(__file__).resolve().parent

Fingerprint = tuple[tuple[str, int, int], ...]


class PolicySettings(BaseSettings):
    """Where the policy files are and how often to look for changes (`TESSERA_POLICY_*`)."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_POLICY_", env_file=".env",
                                      extra="ignore")

    dir: Path = Field(default=DEFAULT_DIRECTORY, description="Directory of the policy "
                      "files (*.yaml); default: the policies/ folder of the installation.")
    reload_interval_s: float = Field(default=2.0, ge=0, description="How often, at most, "
                                     "the files are checked for changes (0: on every call).")


@dataclass(frozen=True)
class ReloadError:
    """A reload that failed: when, and every problem found."""

    at: float
    problems: tuple[str, ...]


def load_policy(directory: Path) -> Policy:
    """Load and compile a policy directory, or raise `PolicyError`."""
    return Policy(load_directory(directory))


class PolicyStore:
    """Holds the policy in force for one directory. Thread-safe."""

    def __init__(self, directory: Path, *, reload_interval_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = Path(directory)
        self.reload_interval_s = reload_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(self.directory)
        self._policy = load_policy(self.directory)  # a broken start is an error, not a state
        self._checked_at = clock()
        self.last_error: ReloadError | None = None
        self.reloads = 0

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> PolicyStore:
        return cls(settings.dir, reload_interval_s=settings.reload_interval_s)

    def current(self) -> Policy:
        """The policy in force, after a cheap check for changed files when one is due."""
        if self._clock() - self._checked_at >= self.reload_interval_s:
            self.check()
        return self._policy

    def health(self) -> dict[str, object]:
        """For health checks: the policy in force and the last failed reload, if any."""
        policy = self._policy
        return {
            "policy_digest": policy.digest,
            "files": [path.name for path in policy.loaded.files],
            "reloads": self.reloads,
            "reload_error": list(self.last_error.problems) if self.last_error else None,
        }

    def check(self) -> bool:
        """Reload if the files changed; True when a new policy went into force."""
        with self._lock:
            self._checked_at = self._clock()
            fingerprint = _fingerprint(self.directory)
            if fingerprint == self._fingerprint:
                return False
            self._fingerprint = fingerprint  # broken files are not re-read until they change
            try:
                policy = load_policy(self.directory)
            except PolicyError as exc:
                self.last_error = ReloadError(time.time(), tuple(exc.problems))
                log.error("policy reload failed; the previous policy %s stays in force: %s",
                          self._policy.digest, "; ".join(exc.problems))
                return False
            except OSError as exc:  # a file vanished between listing and reading it
                self.last_error = ReloadError(time.time(), (f"{exc}",))
                log.error("policy reload failed; the previous policy stays in force: %s", exc)
                return False
            previous, self._policy = self._policy, policy
            self.last_error = None
            self.reloads += 1
            log.info("policy reloaded: %s -> %s", previous.digest, policy.digest)
            return True


def _fingerprint(directory: Path) -> Fingerprint:
    try:
        entries = sorted(directory.glob("*.yaml"))
        return tuple((p.name, (s := p.stat()).st_mtime_ns, s.st_size) for p in entries)
    except OSError:
        return ()
