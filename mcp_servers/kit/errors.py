"""The one error taxonomy shared by every Tessera server and the host.

Every failure a tool can report belongs to exactly one category. Code raises the
matching exception; the kit turns it into a tool result at one boundary
(`mcp_servers.kit.tool`), so the model sees structured content it can act on::

    TesseraError                      (abstract; never raised itself)
     ├── ValidationFailed             validation            the arguments are wrong; fix and retry
     ├── NotFound                     not_found             the named thing does not exist for this caller
     ├── AuthFailed                   auth                  no valid call context / bearer token
     ├── Forbidden                    forbidden             authenticated, but not allowed
     ├── PolicyDenied                 policy_denied         a policy rule said no
     ├── ApprovalRequired             approval_required     a human must approve first
     ├── RateLimited                  rate_limited          retryable after retry_after_s
     ├── BudgetExceeded               budget_exceeded       a run or tenant budget ran out
     ├── UpstreamTimeout              upstream_timeout      retryable
     ├── UpstreamUnavailable          upstream_unavailable  retryable
     ├── Conflict                     conflict              the state changed under the caller
     └── InternalError                internal              our bug; details only in the trace

Protocol faults (malformed JSON-RPC, unknown methods) are not tool errors and stay
JSON-RPC errors. Internal details never reach a model or a user: `InternalError`
carries only a correlation id that points at the trace and the log.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError


class ErrorCategory(enum.StrEnum):
    """The categories of BRIEF.md, as they appear on the wire."""

    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    AUTH = "auth"
    FORBIDDEN = "forbidden"
    POLICY_DENIED = "policy_denied"
    APPROVAL_REQUIRED = "approval_required"
    RATE_LIMITED = "rate_limited"
    BUDGET_EXCEEDED = "budget_exceeded"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    CONFLICT = "conflict"
    INTERNAL = "internal"


class ToolErrorPayload(BaseModel):
    """The structured content of a tool result with `isError: true`."""

    model_config = ConfigDict(extra="forbid")

    error_category: ErrorCategory = Field(description="Which kind of failure this is.")
    human_message: str = Field(description="What went wrong, in a sentence a person can read.")
    model_fix_hint: str = Field(
        description="What the caller (often a model) should do differently next time."
    )
    retryable: bool = Field(description="True when the same call may succeed if repeated later.")
    retry_after_s: float | None = Field(
        default=None, description="Seconds to wait before retrying, when the server knows."
    )
    details: dict[str, Any] | None = Field(
        default=None,
        description="Machine-readable specifics, e.g. the failing fields or a correlation id.",
    )


class TesseraError(Exception):
    """Base of the taxonomy. Subclasses fix the category and the default hint."""

    category: ClassVar[ErrorCategory]
    retryable: ClassVar[bool] = False
    default_hint: ClassVar[str] = "Do not repeat the same call unchanged."

    def __init__(
        self,
        human_message: str,
        *,
        model_fix_hint: str | None = None,
        retry_after_s: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(human_message)
        self.human_message = human_message
        self.model_fix_hint = model_fix_hint or self.default_hint
        self.retry_after_s = retry_after_s
        self.details = details

    def to_payload(self) -> ToolErrorPayload:
        return ToolErrorPayload(
            error_category=self.category,
            human_message=self.human_message,
            model_fix_hint=self.model_fix_hint,
            retryable=self.retryable,
            retry_after_s=self.retry_after_s,
            details=self.details,
        )


class ValidationFailed(TesseraError):
    category = ErrorCategory.VALIDATION
    default_hint = "Correct the arguments named in details.fields and call again."


class NotFound(TesseraError):
    category = ErrorCategory.NOT_FOUND
    default_hint = "Check the identifier; list or search first to find a valid one."


class AuthFailed(TesseraError):
    category = ErrorCategory.AUTH
    default_hint = "The call lacks a valid identity; it cannot succeed by changing arguments."


class Forbidden(TesseraError):
    category = ErrorCategory.FORBIDDEN
    default_hint = "The caller may not do this; ask the user or choose another action."


class PolicyDenied(TesseraError):
    category = ErrorCategory.POLICY_DENIED
    default_hint = "A policy forbids this call; do not retry it, tell the user instead."


class ApprovalRequired(TesseraError):
    category = ErrorCategory.APPROVAL_REQUIRED
    default_hint = "This call waits for a human approver; tell the user it is pending."


class RateLimited(TesseraError):
    category = ErrorCategory.RATE_LIMITED
    retryable = True
    default_hint = "Wait retry_after_s seconds, then repeat the call unchanged."


class BudgetExceeded(TesseraError):
    category = ErrorCategory.BUDGET_EXCEEDED
    default_hint = "The budget is spent; stop and report what was done."


class UpstreamTimeout(TesseraError):
    category = ErrorCategory.UPSTREAM_TIMEOUT
    retryable = True
    default_hint = "The backing system was slow; retry once, perhaps with a narrower request."


class UpstreamUnavailable(TesseraError):
    category = ErrorCategory.UPSTREAM_UNAVAILABLE
    retryable = True
    default_hint = "The backing system is unavailable; retry later."


class Conflict(TesseraError):
    category = ErrorCategory.CONFLICT
    default_hint = "The data changed; read it again before writing."


class InternalError(TesseraError):
    category = ErrorCategory.INTERNAL
    default_hint = "This is a fault in the server, not in the call; report the correlation id."

    def __init__(self, correlation_id: str) -> None:
        super().__init__(
            f"The server failed unexpectedly (correlation id {correlation_id}).",
            details={"correlation_id": correlation_id},
        )


ERROR_CLASSES: dict[ErrorCategory, type[TesseraError]] = {
    cls.category: cls
    for cls in (
        ValidationFailed,
        NotFound,
        AuthFailed,
        Forbidden,
        PolicyDenied,
        ApprovalRequired,
        RateLimited,
        BudgetExceeded,
        UpstreamTimeout,
        UpstreamUnavailable,
        Conflict,
        InternalError,
    )
}


def validation_failed_from(exc: PydanticValidationError) -> ValidationFailed:
    """Name each bad field and what was expected, without echoing the bad input.

    The input is left out on purpose: it may be large, or hold what a model
    should not see again (a secret pasted by mistake).
    """
    fields = [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "(arguments)",
            "problem": error["msg"] if _message_is_safe(error) else "invalid value",
            "expected": _expected(error),
        }
        for error in exc.errors(include_url=False, include_input=False, include_context=True)
    ]
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    return ValidationFailed(
        f"Invalid arguments: {summary}.",
        model_fix_hint="Fix each field listed in details.fields to match the tool's input "
        "schema, then call again.",
        details={"fields": fields},
    )


# Error types whose pydantic message never quotes the rejected input.
_SAFE_MESSAGE_TYPES = frozenset({
    "missing", "extra_forbidden", "string_too_short", "string_too_long", "too_short",
    "too_long", "greater_than", "greater_than_equal", "less_than", "less_than_equal",
    "multiple_of", "enum", "literal_error", "string_pattern_mismatch", "finite_number",
    "int_parsing", "float_parsing", "bool_parsing", "int_from_float", "decimal_parsing",
    "date_parsing", "datetime_parsing", "time_parsing", "json_invalid", "frozen_field",
})


def _message_is_safe(error: Any) -> bool:
    return error["type"] in _SAFE_MESSAGE_TYPES or error["type"].endswith("_type")


def _expected(error: Any) -> str:
    """A short statement of what the field should have been."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "a value (this field is required)"
    if kind == "extra_forbidden":
        return "no such field (remove it)"
    if kind in ("string_too_short", "too_short"):
        return f"at least {ctx.get('min_length')} characters/items"
    if kind in ("string_too_long", "too_long"):
        return f"at most {ctx.get('max_length')} characters/items"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), None)
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
              "less_than": "<"}[kind]
        return f"a number {op} {bound}"
    if kind in ("enum", "literal_error"):
        return f"one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"text matching {ctx.get('pattern')}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"a valid {kind.split('_')[0]}"
    return error["msg"] if _message_is_safe(error) else "a value matching the input schema"
