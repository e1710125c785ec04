"""Every way a call to the MES can fail, mapped to the taxonomy in one place: `map_mes_errors`.

The MES client raises only two exceptions of its own, and httpx raises its
transport exceptions; this context manager turns all of them into taxonomy
errors at the connector's edge::

    MesStatusError   an HTTP error status, with the problem detail and Retry-After
        400, 422 -> validation     401 -> auth          403 -> forbidden
        404 -> not_found           409, 412 -> conflict
        429 -> rate_limited (retry_after_s from Retry-After)
        504 -> upstream_timeout    other 5xx -> upstream_unavailable
        any other status -> internal (logged; our client asked something wrong)
    MalformedResponse  a body that is not the JSON the API documents -> upstream_unavailable
    httpx.ProxyError (the sandbox's egress proxy refused the host) -> policy_denied
    httpx.TimeoutException (connect, read, write, pool) -> upstream_timeout
    httpx.TransportError (connection refused, reset, protocol) -> upstream_unavailable
    httpx.HTTPError (anything else httpx raises) -> upstream_unavailable

The MES's `detail` text is kept for 4xx answers (it says what to fix), cut to
one short line; 5xx texts and transport details go only to the log.
"""

from __future__ import annotations

import email.utils
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from mcp_servers.kit.errors import (
    AuthFailed,
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    PolicyDenied,
    RateLimited,
    TesseraError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationFailed,
)

logger = logging.getLogger("tessera.mes")
MESSAGE_LIMIT = 300


class MesStatusError(Exception):
    """The MES answered with an error status."""

    def __init__(self, status: int, message: str | None, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.message, self.retry_after = status, message, retry_after


class MalformedResponse(Exception):
    """The MES answered 2xx with a body that is not the JSON we expect."""


@contextmanager
def map_mes_errors() -> Iterator[None]:
    try:
        yield
    except TesseraError:
        raise
    except MesStatusError as exc:
        raise _from_status(exc) from None
    except MalformedResponse as exc:
        logger.warning("the MES sent a malformed response: %s", exc)
        raise UpstreamUnavailable("The MES answered with a response that is not valid JSON.",
                                  model_fix_hint="Retry later; if it persists, tell an "
                                  "administrator that the MES answers wrongly.") from None
    except httpx.ProxyError as exc:  # the sandbox's egress proxy refused the host
        logger.warning("egress to MES refused: %s", exc)
        raise PolicyDenied("The sandbox's network policy does not let this server reach "
                           "the MES.", model_fix_hint="Tell the user; an administrator must "
                           "allow the host in the server's sandbox profile.") from None
    except httpx.TimeoutException:
        raise UpstreamTimeout("The MES did not answer in time.") from None
    except httpx.TransportError as exc:
        logger.warning("MES unreachable: %s", type(exc).__name__)
        raise UpstreamUnavailable("The MES cannot be reached.", retry_after_s=5.0) from None
    except httpx.HTTPError as exc:
        logger.warning("MES HTTP failure: %s", type(exc).__name__)
        raise UpstreamUnavailable("The answer from the MES could not be read.") from None


def _from_status(exc: MesStatusError) -> TesseraError:
    status, said = exc.status, _clean(exc.message)
    if status in (400, 422):
        return ValidationFailed(f"The MES rejected the request: {said or 'invalid input'}.",
                                model_fix_hint="Correct what the MES names, then call again.")
    if status == 401:
        return AuthFailed("The MES refused the tenant's credentials.",
                          model_fix_hint="An administrator must fix the tenant's MES "
                          "credentials; tell the user.")
    if status == 403:
        return Forbidden(f"The MES does not allow this: {said or 'forbidden'}.")
    if status == 404:
        return NotFound(f"The MES has no such object: {said or 'not found'}.")
    if status in (409, 412):
        return Conflict(f"The MES reports a conflict: {said or 'the state changed'}.",
                        model_fix_hint="Read the object again; the change may be unnecessary "
                        "or need a different action.")
    if status == 429:
        return RateLimited("The MES is throttling requests.",
                           retry_after_s=_retry_after(exc.retry_after) or 5.0)
    if status == 504:
        return UpstreamTimeout("The MES gateway timed out.")
    if 500 <= status <= 599:
        logger.warning("the MES answered %s: %s", status, said)
        return UpstreamUnavailable(f"The MES is unavailable (HTTP {status}).",
                                   retry_after_s=_retry_after(exc.retry_after))
    correlation_id = uuid.uuid4().hex[:16]
    logger.error("unexpected MES status %s [correlation %s]: %s", status, correlation_id, said)
    return InternalError(correlation_id)


def _clean(message: str | None) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
