"""How a connector's messages name the system behind it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backend:
    """The system's names: `label` stands alone ("SAP", "MES"), `name` runs in a sentence."""

    label: str  # "SAP", "MES": in "the MES connection", "the SAP secret variable"
    name: str  # "SAP", "the MES": in "... cannot reach the MES."

    @property
    def subject(self) -> str:
        """`name` at the start of a sentence: "SAP", "The MES"."""
        return self.name[:1].upper() + self.name[1:]
