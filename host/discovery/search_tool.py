"""The `search_tools` tool: its name, description, input and output models.

The host offers it to the model in the loop and on the federated `/mcp`
endpoint; both answer with `SearchToolsOutput.from_result(view_search_result)`.
The tools it returns join the run's tool list (`RunToolset.add`), so the model
can call them on its next turn.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from host.discovery.index import SearchResult

SEARCH_TOOLS_NAME = "search_tools"

SEARCH_TOOLS_DESCRIPTION = (
    "Find the tools for a task among every tool you may use. Describe the task in plain "
    "words (what you want to do, on what, e.g. 'create a purchase order for a supplier' or "
    "'machine downtime last week on line 4'). The best matching tools are returned and become "
    "callable from your next step. If the answer says no suitable tool exists, do not retry "
    "with the same words: tell the user this cannot be done with the tools available, or "
    "rephrase once if the task was unclear."
)

NO_SUITABLE_TOOL_MESSAGE = (
    "No suitable tool: none of the tools you may use fits this task well enough. "
    "Say so to the user rather than guessing, or rephrase once if the request was unclear."
)

# Returned descriptions are cut to this many characters: the full definition is
# appended to the model's tool list anyway, so the search answer stays short.
SUMMARY_CHARS = 240


class SearchToolsInput(BaseModel):
    """Arguments of `search_tools`."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        max_length=1000,
        description="The task to find tools for, in plain words.",
    )
    k: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="How many tools to return at most (default 3; the host caps it).",
    )


class FoundTool(BaseModel):
    """One tool `search_tools` found."""

    name: str = Field(description="The tool's name (server.tool); call it by this name.")
    description: str = Field(description="What the tool does (shortened).")
    risk: str = Field(description="read | write_low | write_high; writes may need approval.")
    score: float = Field(description="Fused relevance score; higher is better.")


class SearchToolsOutput(BaseModel):
    """Answer of `search_tools`."""

    tools: list[FoundTool] = Field(description="The matching tools, best first; empty if none fits.")
    no_suitable_tool: bool = Field(
        description="True when no tool scored high enough for this task."
    )
    message: str = Field(description="A short note for the model on what to do next.")

    @classmethod
    def from_result(cls, result: SearchResult) -> SearchToolsOutput:
        if result.no_suitable_tool:
            return cls(tools=[], no_suitable_tool=True, message=NO_SUITABLE_TOOL_MESSAGE)
        tools = [
            FoundTool(name=m.tool.name, description=_summary(m.tool.description),
                      risk=m.tool.risk, score=round(m.score, 3))
            for m in result.matches
        ]
        names = ", ".join(tool.name for tool in tools)
        return cls(tools=tools, no_suitable_tool=False,
                   message=f"These tools are now available to call: {names}.")


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"
