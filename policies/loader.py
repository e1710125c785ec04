"""Reading a policy directory: YAML with line numbers, pydantic validation, merging files.

Every `*.yaml` file directly in the directory is one `PolicyFile`; they merge in
file-name order (tenants, roles and servers by name, where a name defined twice
is an error; rules and redactions appended). Every problem is reported as
`file:line: message`, all of them at once, as a `PolicyError`. Cross-references
(a tenant naming an undefined role, a rule naming an unknown server) are checked
here too, because a policy with a dangling name must never go into force.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policies.model import PolicyFile

Location = tuple[Any, ...]  # a path into the document, e.g. ("rules", 2, "when")


class PolicyError(ValueError):
    """A policy that cannot go into force; `problems` are `file:line: message` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems) if len(problems) < 4
                         else f"{len(problems)} problems, first: {problems[0]}")


@dataclass(frozen=True)
class Origin:
    """Where a piece of the merged policy was written."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class LoadedPolicy:
    """The merged document, where each part came from, and a digest of the files."""

    document: PolicyFile
    files: tuple[Path, ...]
    digest: str
    origins: dict[Location, Origin] = field(default_factory=dict)

    def origin(self, *location: Any) -> str:
        """`file:line` of a part of the merged document, e.g. `origin("rules", 3)`."""
        for end in range(len(location), 0, -1):
            if (found := self.origins.get(tuple(location[:end]))) is not None:
                return str(found)
        return "policy"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers where each value starts and refuses duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice", key_node.start_mark)
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=True)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings: a policy has no use for YAML's implicit timestamps.
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def _lines(node: yaml.Node | None, location: Location, out: dict[Location, int]) -> None:
    if node is None:
        return
    out[location] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*location, key)] = key_node.start_mark.line + 1
            _lines(value_node, (*location, key), out)
            out[(*location, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*location, index), out)


def _line_of(lines: dict[Location, int], location: Location) -> int:
    for end in range(len(location), -1, -1):
        if location[:end] in lines:
            return lines[location[:end]]
    return 1


def read_yaml_with_lines(path: Path) -> tuple[Any, dict[Location, int]]:
    """Parse a YAML file safely: its data, and the line where each location starts.

    Raises `PolicyError` with `file:line` for syntax errors and duplicate keys."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError([f"{path.name}:{line}: YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([f"{path.name}:1: YAML: {exc}"]) from None
    lines: dict[Location, int] = {}
    _lines(node, (), lines)
    return ({} if data is None else data), lines


def read_file(path: Path) -> tuple[PolicyFile | None, dict[Location, int], list[str]]:
    """One file: its document (None when broken), the line of each location, its problems."""
    try:
        data, lines = read_yaml_with_lines(path)
    except PolicyError as exc:
        return None, {}, exc.problems
    if not isinstance(data, dict):
        return None, lines, [f"{path.name}:1: a policy file is a mapping of sections"]
    try:
        document = PolicyFile.model_validate_json(json.dumps(data, default=str))
    except ValidationError as exc:
        return None, lines, [_describe(path, lines, error) for error in exc.errors()]
    return document, lines, []


def _describe(path: Path, lines: dict[Location, int], error: Any) -> str:
    location = tuple(part for part in error["loc"] if not _is_internal(part))
    where = ".".join(str(part) for part in location) or "file"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (see docs/policies.md for the keys a policy may use)"
    return f"{path.name}:{_line_of(lines, location)}: {where}: {message}"


def _is_internal(part: Any) -> bool:
    # pydantic puts tagged-union and constrained-type markers into error locations
    return isinstance(part, str) and (part.startswith("function-") or "[" in part)


def load_directory(directory: Path) -> LoadedPolicy:
    """Read and merge every `*.yaml` in `directory`, or raise `PolicyError` with every problem."""
    if not directory.is_dir():
        raise PolicyError([f"{directory}: no such policy directory"])
    files = tuple(sorted(directory.glob("*.yaml")))
    if not files:
        raise PolicyError([f"{directory}: no *.yaml policy files"])
    problems: list[str] = []
    parts: list[tuple[Path, PolicyFile, dict[Location, int]]] = []
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        document, lines, found = read_file(path)
        problems.extend(found)
        if document is not None:
            parts.append((path, document, lines))
    if problems:
        raise PolicyError(problems)
    loaded = _merge(parts, digest.hexdigest()[:16])
    problems = check_references(loaded)
    if problems:
        raise PolicyError(problems)
    return loaded


def _merge(parts: list[tuple[Path, PolicyFile, dict[Location, int]]], digest: str) -> LoadedPolicy:
    sections: dict[str, dict[str, Any]] = {"tenants": {}, "roles": {}, "servers": {}}
    lists: dict[str, list[Any]] = {"rules": [], "redactions": []}
    origins: dict[Location, Origin] = {}
    problems: list[str] = []
    for path, document, lines in parts:
        for section, merged in sections.items():
            for name, value in getattr(document, section).items():
                line = _line_of(lines, (section, name))
                if name in merged:
                    problems.append(f"{path.name}:{line}: {section}.{name} is already defined "
                                    f"at {origins[(section, name)]}")
                    continue
                merged[name] = value
                for location, item_line in lines.items():
                    if location[:2] == (section, name):
                        origins[location] = Origin(path, item_line)
        for section, merged_list in lists.items():
            for index, value in enumerate(getattr(document, section)):
                for location, item_line in lines.items():
                    if location[:2] == (section, index):
                        merged_at = (section, len(merged_list), *location[2:])
                        origins[merged_at] = Origin(path, item_line)
                merged_list.append(value)
    if problems:
        raise PolicyError(problems)
    document = PolicyFile.model_construct(version=1, **sections, **lists)
    return LoadedPolicy(document, tuple(path for path, _, _ in parts), digest, origins)


def check_references(loaded: LoadedPolicy) -> list[str]:
    """Names that point nowhere: undefined roles, tenants, servers; duplicate rule names."""
    doc, problems = loaded.document, []
    for tenant_name, tenant in doc.tenants.items():
        for index, role in enumerate(tenant.roles):
            if role not in doc.roles:
                problems.append(f"{loaded.origin('tenants', tenant_name, 'roles', index)}: "
                                f"tenant {tenant_name} names undefined role {role!r}")
    seen: dict[str, int] = {}
    for index, rule in enumerate(doc.rules):
        where = loaded.origin("rules", index)
        if rule.name in seen:
            problems.append(f"{where}: rule name {rule.name!r} is used twice "
                            f"(first at {loaded.origin('rules', seen[rule.name])})")
        seen.setdefault(rule.name, index)
        for role in [*(rule.roles or []), *(rule.approval.approvers if rule.approval else [])]:
            if role not in doc.roles:
                problems.append(f"{where}: rule {rule.name} names undefined role {role!r}")
        for tenant in rule.tenants or []:
            if tenant not in doc.tenants:
                problems.append(f"{where}: rule {rule.name} names undefined tenant {tenant!r}")
        problems.extend(_unknown_servers(loaded, ("rules", index), rule.tools))
    for role_name, role in doc.roles.items():
        for index, grant in enumerate(role.allow):
            problems.extend(_unknown_servers(loaded, ("roles", role_name, "allow", index),
                                             grant.tools))
    return problems


def _unknown_servers(loaded: LoadedPolicy, location: Location, tools: list[str]) -> list[str]:
    problems = []
    for glob in tools:
        server = glob.split(".", 1)[0]
        if glob != "*" and server != "*" and server not in loaded.document.servers:
            problems.append(f"{loaded.origin(*location)}: {glob!r} names server {server!r}, "
                            "which is not under servers:")
    return problems
