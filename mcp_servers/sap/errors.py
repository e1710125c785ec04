"""Every way a call to SAP can fail, mapped to the taxonomy in one place: `map_odata_errors`.

The OData client raises only two exceptions of its own, and httpx raises its
transport exceptions; this context manager turns all of them into taxonomy
errors at the connector's edge::

    ODataStatusError   an HTTP error status, with SAP's message and Retry-After
        400, 422 -> validation     401 -> auth          403 -> forbidden
        404 -> not_found           409, 412, 428 -> conflict
        429 -> rate_limited (retry_after_s from Retry-After)
        504 -> upstream_timeout    other 5xx -> upstream_unavailable
        any other status -> internal (logged; our client asked something wrong)
    MalformedResponse  a body that is not OData JSON -> upstream_unavailable
    httpx.ProxyError (the sandbox's egress proxy refused the host) -> policy_denied
    httpx.TimeoutException (connect, read, write, pool) -> upstream_timeout
    httpx.TransportError (connection refused, reset, protocol) -> upstream_unavailable
    httpx.HTTPError (anything else httpx raises, e.g. a bad content encoding) -> upstream_unavailable

SAP's own message (`error.message.value`) is kept for 4xx answers, because it
says what to fix ("Material RM-99999 does not exist"); it is cut to one short
line. 5xx texts and transport details go only to the log.
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

logger = logging.getLogger("tessera.sap")
MESSAGE_LIMIT = 300


class ODataStatusError(Exception):
    """SAP answered with an error status."""

    def __init__(self, status: int, message: str | None, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.message, self.retry_after = status, message, retry_after


class MalformedResponse(Exception):
    """SAP answered 2xx with a body that is not the OData JSON we asked for."""


@contextmanager
def map_odata_errors() -> Iterator[None]:
    try:
        yield
    except TesseraError:
        raise
    except ODataStatusError as exc:
        raise _from_status(exc) from None
    except MalformedResponse as exc:
        logger.warning("SAP sent a malformed response: %s", exc)
        raise UpstreamUnavailable("SAP answered with a response that is not valid OData JSON.",
                                  model_fix_hint="Retry later; if it persists, tell an "
                                  "administrator that SAP's gateway answers wrongly.") from None
    except httpx.ProxyError as exc:  # the sandbox's egress proxy refused the host
        logger.warning("egress to SAP refused: %s", exc)
        raise PolicyDenied("The sandbox's network policy does not let this server reach "
                           "SAP.", model_fix_hint="Tell the user; an administrator must "
                           "allow the host in the server's sandbox profile.") from None
    except httpx.TimeoutException:
        raise UpstreamTimeout("SAP did not answer in time.") from None
    except httpx.TransportError as exc:
        logger.warning("SAP unreachable: %s", type(exc).__name__)
        raise UpstreamUnavailable("SAP cannot be reached.", retry_after_s=5.0) from None
    except httpx.HTTPError as exc:
        logger.warning("SAP HTTP failure: %s", type(exc).__name__)
        raise UpstreamUnavailable("The answer from SAP could not be read.") from None


def _from_status(exc: ODataStatusError) -> TesseraError:
    status, said = exc.status, _clean(exc.message)
    if status in (400, 422):
        return ValidationFailed(f"SAP rejected the request: {said or 'invalid input'}.",
                                model_fix_hint="Correct the values SAP names, then call again.")
    if status == 401:
        return AuthFailed("SAP refused the tenant's technical logon.",
                          model_fix_hint="An administrator must fix the tenant's SAP "
                          "credentials; tell the user.")
    if status == 403:
        return Forbidden(f"SAP does not allow this: {said or 'no authorisation'}.")
    if status == 404:
        return NotFound(f"SAP has no such object: {said or 'not found'}.")
    if status in (409, 412, 428):
        return Conflict(f"SAP reports a conflict: {said or 'the object changed'}.",
                        model_fix_hint="Read the object again, then repeat the change if it "
                        "is still needed.")
    if status == 429:
        return RateLimited("SAP is throttling requests.",
                           retry_after_s=_retry_after(exc.retry_after) or 5.0)
    if status == 504:
        return UpstreamTimeout("SAP's gateway timed out waiting for the backend.")
    if 500 <= status <= 599:
        logger.warning("SAP answered %s: %s", status, said)
        return UpstreamUnavailable(f"SAP is unavailable (HTTP {status}).",
                                   retry_after_s=_retry_after(exc.retry_after))
    correlation_id = uuid.uuid4().hex[:16]
    logger.error("unexpected SAP status %s [correlation %s]: %s", status, correlation_id, said)
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
