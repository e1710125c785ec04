"""A small server built on the kit, for testing the kit itself."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mcp_servers.kit import errors
from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import ErrorCategory
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec


class FailInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: ErrorCategory | None = Field(default=None, description="Category to raise, or none.")
    crash: bool = Field(default=False, description="Raise an unexpected exception instead.")
    bad_output: bool = Field(default=False, description="Return output that breaks the schema.")


class WhoOutput(BaseModel):
    tenant: str = Field(description="The verified tenant.")
    user: str = Field(description="The verified user.")
    roles: list[str] = Field(description="The verified roles.")


SECRET_TEXT = "db password is hunter2 at /srv/secret"

FAIL = ToolSpec(
    name="toy.fail",
    description="Raise the error the caller asks for, to test the kit's error boundary.",
    input_model=FailInput,
    output_model=WhoOutput,
    examples=({"category": "not_found"}, {"crash": True}),
    errors=frozenset(ErrorCategory),
    risk=Risk.READ,
    data_class=DataClass.I,
)


async def fail(ctx: CallContext, args: FailInput) -> BaseModel:
    if args.crash:
        raise RuntimeError(SECRET_TEXT)
    if args.bad_output:
        return BaseModel()
    if args.category is not None:
        cls = errors.ERROR_CLASSES[args.category]
        if cls is errors.InternalError:
            raise cls("abc123")
        raise cls(f"{args.category} happened", retry_after_s=3.0 if cls.retryable else None)
    return WhoOutput(tenant=ctx.tenant, user=ctx.user, roles=list(ctx.roles))


def build(settings: Settings) -> ToolServer:
    server = ToolServer("toy", settings, version="1.0", instructions="A toy for tests.")
    server.add(FAIL, fail)
    return server
