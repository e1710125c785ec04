"""What every HTTP route shares: authentication and the one mapping of errors to responses.

Errors leave as JSON `{error_category, human_message, model_fix_hint, ...}` with
the status that fits the category; nothing else (no stack trace) ever does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from host.auth import Principal
from mcp_servers.kit.errors import ErrorCategory, TesseraError, validation_failed_from

STATUS = {
    ErrorCategory.VALIDATION: 422, ErrorCategory.NOT_FOUND: 404, ErrorCategory.AUTH: 401,
    ErrorCategory.FORBIDDEN: 403, ErrorCategory.POLICY_DENIED: 403,
    ErrorCategory.APPROVAL_REQUIRED: 409, ErrorCategory.RATE_LIMITED: 429,
    ErrorCategory.BUDGET_EXCEEDED: 429, ErrorCategory.UPSTREAM_TIMEOUT: 504,
    ErrorCategory.UPSTREAM_UNAVAILABLE: 503, ErrorCategory.CONFLICT: 409,
    ErrorCategory.INTERNAL: 500,
}


def error_response(error: TesseraError) -> JSONResponse:
    payload = error.to_payload()
    headers = {}
    if payload.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, round(payload.retry_after_s)))
    if payload.error_category is ErrorCategory.AUTH:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(payload.model_dump(mode="json", exclude_none=True),
                        status_code=STATUS[payload.error_category], headers=headers)


def principal(request: Request) -> Principal:
    return request.app.state.auth.authenticate(request.headers.get("authorization"))


Handler = Callable[[Request], Awaitable[Response]]


def api(handler: Handler) -> Handler:
    """Route wrapper: taxonomy errors and invalid bodies become JSON error responses."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except TesseraError as error:
            return error_response(error)
        except ValidationError as error:
            return error_response(validation_failed_from(error))

    return wrapped


async def json_body(request: Request) -> Any:
    from mcp_servers.kit.errors import ValidationFailed

    try:
        return await request.json()
    except ValueError:
        raise ValidationFailed("The request body is not valid JSON.",
                               model_fix_hint="Send a JSON object.") from None
