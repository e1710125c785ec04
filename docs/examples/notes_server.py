"""A complete capability server on the Tessera kit, as `docs/kit.md` explains it.

The test suite runs this file (tests/docs/test_docs.py), so it stays true.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mcp_servers.kit.context import CallContext
from mcp_servers.kit.errors import ErrorCategory, NotFound
from mcp_servers.kit.server import ToolServer
from mcp_servers.kit.settings import Settings
from mcp_servers.kit.spec import DataClass, Risk, ToolSpec


class LookupInput(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown arguments are validation errors

    machine: str = Field(pattern=r"^M-\d{3}$", description="Machine id, e.g. M-101.")


class LookupOutput(BaseModel):
    machine: str = Field(description="The machine id.")
    note: str = Field(description="The shift note for it.")


LOOKUP = ToolSpec(
    name="notes.lookup",
    title="Look up a shift note",
    description="Return the latest shift note for one machine of the caller's plant.",
    input_model=LookupInput,
    output_model=LookupOutput,
    examples=({"machine": "M-101"}, {"machine": "M-999"}),
    errors=frozenset({ErrorCategory.NOT_FOUND}),
    risk=Risk.READ,
    data_class=DataClass.II,
)

NOTES = {("acme", "M-101"): "Bearing noise on spindle 2, watch temperature."}


async def lookup(ctx: CallContext, args: LookupInput) -> LookupOutput:
    note = NOTES.get((ctx.tenant, args.machine))  # scoped by the verified tenant, always
    if note is None:
        raise NotFound(f"No shift note for {args.machine}.",
                       model_fix_hint="Check the machine id with the MES server.")
    return LookupOutput(machine=args.machine, note=note)


def build(settings: Settings, _own_settings: object = None) -> ToolServer:
    server = ToolServer("notes", settings, version="1.0.0",
                        instructions="Shift notes per machine.")
    server.add(LOOKUP, lookup)
    return server
