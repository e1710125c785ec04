"""The one boundary where a tool call becomes a result: `SpecTool`.

A `SpecTool` serves one `ToolSpec` with one handler. On every call it

1. verifies the call context (from `_meta`, else an HTTP bearer token),
2. validates the arguments against the spec's input model,
3. runs the handler, and checks its output against the output model,
4. turns any exception into a tool result with `isError: true` and the structured
   content of `ToolErrorPayload`.

Nothing else in a server converts exceptions: handlers raise taxonomy errors
(`mcp_servers.kit.errors`) and let them fly. An unexpected exception becomes an
`internal` error carrying a correlation id; its text and traceback go to the log
and the trace only.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastmcp.exceptions import NotFoundError
from fastmcp.server.dependencies import fastmcp_request_ctx, get_http_headers
from fastmcp.server.middleware import Middleware, MiddlewareContext
from fastmcp.tools import Tool, ToolResult
from mcp_types import TextContent
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as PydanticValidationError

from mcp_servers.kit.context import CONTEXT_META_KEY, CallContext, ContextVerifier
from mcp_servers.kit.errors import (
    InternalError,
    NotFound,
    TesseraError,
    validation_failed_from,
)
from mcp_servers.kit.spec import SPEC_META_KEY, ToolSpec, check_spec

logger = logging.getLogger("tessera.tool")
_tracer = trace.get_tracer("tessera.kit")

Handler = Callable[[CallContext, Any], Awaitable[BaseModel]]


class SpecTool(Tool):
    """A FastMCP tool whose contract, checks and error handling come from a `ToolSpec`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    spec: ToolSpec = Field(exclude=True, description="The tool's contract.")
    _handler: Handler = PrivateAttr()
    _verifier: ContextVerifier = PrivateAttr()

    @classmethod
    def create(cls, spec: ToolSpec, handler: Handler, verifier: ContextVerifier) -> SpecTool:
        check_spec(spec)
        tool = cls(
            spec=spec,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            parameters=spec.input_schema,
            output_schema=spec.output_schema,
            annotations=spec.annotations(),
            meta={SPEC_META_KEY: spec.meta().model_dump(mode="json")},
        )
        tool._handler = handler
        tool._verifier = verifier
        return tool

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        with _tracer.start_as_current_span(
            f"tool {self.spec.name}", context=_parent_trace(), attributes={"tool": self.spec.name}
        ) as span:
            try:
                context = self._verifier.verify(presented_token())
                span.set_attributes({"tenant": context.tenant, "run_id": context.run_id or ""})
                output = await self._handler(context, _parse(self.spec.input_model, arguments))
                return success_result(self.spec.output_model.model_validate(output))
            except TesseraError as exc:
                span.set_attribute("error_category", exc.category.value)
                return error_result(exc)
            except Exception as exc:  # the boundary: nothing else may escape
                correlation_id = uuid.uuid4().hex[:16]
                logger.exception("tool %s failed [correlation %s]", self.spec.name, correlation_id)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR))
                span.set_attributes({"error_category": "internal", "correlation_id": correlation_id})
                return error_result(InternalError(correlation_id))


class UnknownToolIsNotFound(Middleware):
    """Answer a call to an unknown tool with a structured `not_found` result."""

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        try:
            return await call_next(context)
        except NotFoundError:
            return error_result(
                NotFound(
                    f"There is no tool named {context.message.name!r}.",
                    model_fix_hint="List the tools and call one of those by its exact name.",
                )
            )


def presented_token() -> str | None:
    """The call-context token of the current request: `_meta` first, then bearer."""
    request = fastmcp_request_ctx.get()
    meta = (request.meta or {}) if request is not None else {}
    token = meta.get(CONTEXT_META_KEY)
    if isinstance(token, str) and token:
        return token
    authorization = get_http_headers(include={"authorization"}).get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def success_result(output: BaseModel) -> ToolResult:
    structured = output.model_dump(mode="json")
    return ToolResult(
        content=[TextContent(type="text", text=json.dumps(structured, ensure_ascii=False))],
        structured_content=structured,
    )


def error_result(error: TesseraError) -> ToolResult:
    payload = error.to_payload()
    text = f"{payload.error_category.value}: {payload.human_message} {payload.model_fix_hint}"
    return ToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=payload.model_dump(mode="json", exclude_none=True),
        is_error=True,
    )


def _parse(model: type[BaseModel], arguments: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(arguments)
    except PydanticValidationError as exc:
        raise validation_failed_from(exc) from None


def _parent_trace() -> Any:
    """The trace parent the caller sent, so this span joins the caller's trace."""
    request = fastmcp_request_ctx.get()
    meta = (request.meta or {}) if request is not None else {}
    carrier = {"traceparent": meta["traceparent"]} if isinstance(meta.get("traceparent"), str) else {}
    return TraceContextTextMapPropagator().extract(carrier)
