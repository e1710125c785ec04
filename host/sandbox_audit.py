"""What the sandboxes report goes into the audit log: each server's confinement, each egress attempt.

The sandbox's proxies report attempts from their own threads, and servers start
on the launcher's thread; `SandboxAuditLog` takes both without blocking (a
bounded queue) and a host task appends them to the hash-chained audit log of the
system tenant, where the security team reads them.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import anyio

from mcp_servers.kit.store.audit import AuditEvent, append_audit
from mcp_servers.kit.store.pool import Store

SYSTEM_TENANT = "tessera-system"
logger = logging.getLogger("tessera.host.egress")


class SandboxAuditLog:
    def __init__(self, capacity: int = 10_000) -> None:
        self._queue: queue.Queue[AuditEvent] = queue.Queue(capacity)
        self.dropped = 0

    def __call__(self, event: Any) -> None:
        """The egress proxies' audit callback (an `EgressEvent`): never blocks the proxy."""
        logger.info("egress %s %s:%s allowed=%s (%s)", event.server, event.host, event.port,
                    event.allowed, event.reason)
        self._put(AuditEvent(actor=f"sandbox:{event.server}", action="egress.attempt",
                             target=f"{event.host}:{event.port}", details=event.model_dump(mode="json")))

    def started(self, report: Any) -> None:
        """A server process started: which confinement it actually got (a `SandboxReport`)."""
        self._put(AuditEvent(actor="tessera-host", action="sandbox.started", target=report.server,
                             details=report.model_dump(mode="json")))

    def _put(self, event: AuditEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    async def run(self, store: Store) -> None:
        while True:
            events = []
            while not self._queue.empty() and len(events) < 500:
                events.append(self._queue.get_nowait())
            if events:
                async with store.tenant(SYSTEM_TENANT) as conn:
                    for event in events:
                        await append_audit(conn, event)
            await anyio.sleep(0.5)
