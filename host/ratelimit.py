"""Requests per minute per tenant and per user: a sliding one-minute window in this process.

The limits come from the policy (`rate_limit_for`); a refusal carries the seconds
until the oldest request leaves the window, which the HTTP layer sends as Retry-After.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from mcp_servers.kit.errors import RateLimited

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, ...], deque[float]] = defaultdict(deque)

    def admit(self, tenant: str, user: str, *, tenant_per_minute: int, user_per_minute: int) -> None:
        now = time.monotonic()
        keys = [((tenant,), tenant_per_minute), ((tenant, user), user_per_minute)]
        for key, limit in keys:
            window = self._seen[key]
            while window and now - window[0] >= WINDOW_S:
                window.popleft()
            if len(window) >= limit:
                retry = max(1.0, WINDOW_S - (now - window[0]))
                who = "the tenant" if len(key) == 1 else "you"
                raise RateLimited(f"Too many requests from {who}; the limit is {limit} per minute.",
                                  retry_after_s=round(retry, 1))
        for key, _ in keys:
            self._seen[key].append(now)
