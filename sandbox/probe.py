"""Can bubblewrap build our sandbox here? Probed once, with the exact confining flags.

The probe runs `bwrap <CONFINING_FLAGS> <system binds> -- /usr/bin/true` as the
user the servers will run as. When it fails, `BwrapProbe.message` carries
bubblewrap's own words and `fix` says what an operator can do about them: the
usual cause is a container or kernel that forbids unprivileged user namespaces.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass

from sandbox.bwrap import find_bwrap, probe_argv
from sandbox.layout import SandboxUser, as_user, system_binds

PROBE_TIMEOUT_S = 15.0

FIX_INSTALL = ("Install bubblewrap: `apt-get install bubblewrap` (./scripts/install does it "
               "when run as root), or set this server's sandbox mode to degraded-ok or off in "
               "policies/.")
FIX_USERNS = (
    "bubblewrap needs unprivileged user namespaces. On a host: `sysctl -w "
    "kernel.unprivileged_userns_clone=1` (Debian) and `sysctl -w user.max_user_namespaces=15000`; "
    "on Ubuntu 23.10+ also `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an "
    "AppArmor profile for bwrap. In Docker or Podman: run the container with `--security-opt "
    "seccomp=unconfined --security-opt apparmor=unconfined` (or `--privileged`); in Kubernetes: "
    "a pod seccompProfile of Unconfined and a runtime that allows user namespaces. Or set this "
    "server's sandbox mode to degraded-ok (a weaker confinement) in policies/."
)
FIX_VERSION = "Upgrade bubblewrap to 0.8.0 or newer (Debian 12 ships 0.8.0)."


@dataclass(frozen=True)
class BwrapProbe:
    """The outcome of one probe: usable or not, with bubblewrap's message and the fix."""

    ok: bool
    bwrap: str | None
    version: str | None
    message: str
    fix: str

    def explain(self) -> str:
        return f"bubblewrap cannot build the sandbox: {self.message}. Fix: {self.fix}"


_cache: dict[tuple[str | None, int], BwrapProbe] = {}
_lock = threading.Lock()


def probe_bwrap(user: SandboxUser, bwrap: str | None = None, *, fresh: bool = False) -> BwrapProbe:
    """Probe once per (bwrap, user) and remember the answer; `fresh` probes again."""
    bwrap = bwrap or find_bwrap()
    key = (bwrap, user.uid)
    with _lock:
        if fresh or key not in _cache:
            _cache[key] = _probe(bwrap, user)
        return _cache[key]


def _probe(bwrap: str | None, user: SandboxUser) -> BwrapProbe:
    if bwrap is None:
        return BwrapProbe(False, None, None, "bwrap is not installed (not on PATH)", FIX_INSTALL)
    version = _version(bwrap)
    binds, links = system_binds()
    try:
        result = subprocess.run(as_user(user) + probe_argv(bwrap, binds, links),
                                capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                                check=False, env={"PATH": "/usr/bin:/bin"}, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return BwrapProbe(False, bwrap, version, f"running {bwrap} failed: {exc}", FIX_INSTALL)
    if result.returncode == 0:
        return BwrapProbe(True, bwrap, version, "ok", "")
    message = result.stderr.strip() or f"bwrap exited with {result.returncode}"
    fix = FIX_VERSION if "Unknown option" in message else FIX_USERNS
    return BwrapProbe(False, bwrap, version, message, fix)


def _version(bwrap: str) -> str | None:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=5,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.strip().removeprefix("bubblewrap ").strip() or None
