"""Every way a call to an HTTP backend can fail, mapped to the taxonomy in one place.

A connector's client raises only `UpstreamStatusError` and `MalformedResponse`
(`json_object` does both for a response), httpx raises its transport
exceptions, and `HttpErrorMap.errors()` turns all of them into taxonomy errors
at the connector's edge::

    UpstreamStatusError   an HTTP error status, with the backend's message and Retry-After
        400, 422 -> validation     401 -> auth          403 -> forbidden
        404 -> not_found           conflict_statuses (409, 412; SAP adds 428) -> conflict
        429 -> rate_limited (retry_after_s from Retry-After, seconds or an HTTP date)
        504 -> upstream_timeout    other 5xx -> upstream_unavailable
        any other status -> internal (logged with a correlation id)
    MalformedResponse  a body that is not the JSON the API documents -> upstream_unavailable
    httpx.ProxyError (the sandbox's egress proxy refused the host) -> policy_denied
    httpx.TimeoutException (connect, read, write, pool) -> upstream_timeout
    httpx.TransportError (connection refused, reset, protocol) -> upstream_unavailable
    httpx.HTTPError (anything else httpx raises, e.g. a bad encoding) -> upstream_unavailable

The backend's own message is kept for 4xx answers, because it says what to fix;
it is cut to one short line. 5xx texts and transport details go only to the log.
Where the message sits in an error body differs per API (OData's
`error.message.value`, RFC 9457's `detail`): the connector passes that reader
to `json_object`.
"""

from __future__ import annotations

import email.utils
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from mcp_servers.kit.connectors.backend import Backend
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

MESSAGE_LIMIT = 300


class UpstreamStatusError(Exception):
    """The backend answered with an error status."""

    def __init__(self, status: int, message: str | None, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.message, self.retry_after = status, message, retry_after


class MalformedResponse(Exception):
    """The backend answered 2xx with a body that is not the JSON we expect."""


def json_object(response: httpx.Response,
                error_message: Callable[[httpx.Response], str | None]) -> dict[str, Any]:
    """The JSON object in a successful answer; an error status or any other body raises."""
    if response.status_code >= 400:
        raise UpstreamStatusError(response.status_code, error_message(response),
                                  response.headers.get("retry-after"))
    if "json" not in response.headers.get("content-type", ""):
        raise MalformedResponse(f"content type {response.headers.get('content-type')!r}")
    try:
        body = response.json()
    except ValueError:
        raise MalformedResponse("the body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedResponse("the body is not a JSON object")
    return body


@dataclass(frozen=True)
class HttpErrorMap:
    """One backend's mapping; connectors differ only in these fields."""

    backend: Backend
    logger: logging.Logger
    body_format: str = "JSON"  # "not valid {body_format}" for malformed answers
    conflict_statuses: frozenset[int] = frozenset({409, 412})
    conflict_default: str = "the object changed"
    conflict_hint: str = "Read the object again, then repeat the change if it is still needed."

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn every failure of the block into a taxonomy error; taxonomy errors pass."""
        b, log = self.backend, self.logger
        try:
            yield
        except TesseraError:
            raise
        except UpstreamStatusError as exc:
            raise self.from_status(exc) from None
        except MalformedResponse as exc:
            log.warning("%s sent a malformed response: %s", b.name, exc)
            raise UpstreamUnavailable(
                f"{b.subject} answered with a response that is not valid {self.body_format}.",
                model_fix_hint="Retry later; if it persists, tell an administrator that "
                f"{b.name} answers wrongly.") from None
        except httpx.ProxyError as exc:  # the sandbox's egress proxy refused the host
            log.warning("egress to %s refused: %s", b.label, exc)
            raise PolicyDenied(f"The sandbox's network policy does not let this server reach "
                               f"{b.name}.", model_fix_hint="Tell the user; an administrator "
                               "must allow the host in the server's sandbox profile.") from None
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{b.subject} did not answer in time.") from None
        except httpx.TransportError as exc:
            log.warning("%s unreachable: %s", b.label, type(exc).__name__)
            raise UpstreamUnavailable(f"{b.subject} cannot be reached.",
                                      retry_after_s=5.0) from None
        except httpx.HTTPError as exc:
            log.warning("%s HTTP failure: %s", b.label, type(exc).__name__)
            raise UpstreamUnavailable(f"The answer from {b.name} could not be read.") from None

    def from_status(self, exc: UpstreamStatusError) -> TesseraError:
        b, status, said = self.backend, exc.status, clean(exc.message)
        if status in (400, 422):
            return ValidationFailed(f"{b.subject} rejected the request: "
                                    f"{said or 'invalid input'}.",
                                    model_fix_hint=f"Correct what {b.name} names, then call again.")
        if status == 401:
            return AuthFailed(f"{b.subject} refused the tenant's credentials.",
                              model_fix_hint=f"An administrator must fix the tenant's {b.label} "
                              "credentials; tell the user.")
        if status == 403:
            return Forbidden(f"{b.subject} does not allow this: {said or 'no authorisation'}.")
        if status == 404:
            return NotFound(f"{b.subject} has no such object: {said or 'not found'}.")
        if status in self.conflict_statuses:
            return Conflict(f"{b.subject} reports a conflict: {said or self.conflict_default}.",
                            model_fix_hint=self.conflict_hint)
        if status == 429:
            return RateLimited(f"{b.subject} is throttling requests.",
                               retry_after_s=retry_after_s(exc.retry_after) or 5.0)
        if status == 504:
            return UpstreamTimeout(f"The gateway in front of {b.name} timed out.")
        if 500 <= status <= 599:
            self.logger.warning("%s answered %s: %s", b.name, status, said)
            return UpstreamUnavailable(f"{b.subject} is unavailable (HTTP {status}).",
                                       retry_after_s=retry_after_s(exc.retry_after))
        correlation_id = uuid.uuid4().hex[:16]
        self.logger.error("unexpected %s status %s [correlation %s]: %s", b.label, status,
                          correlation_id, said)
        return InternalError(correlation_id)


def clean(message: str | None) -> str:
    """The message on one line, at most MESSAGE_LIMIT characters."""
    text = " ".join((message or "").split())
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT - 1] + "…"


def retry_after_s(value: str | None) -> float | None:
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
