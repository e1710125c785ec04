"""Loading policy files: every problem reported as file:line, nothing half-loaded."""

from __future__ import annotations

import pytest

from policies import PolicyError, load_policy
from tests.policies.helpers import MINIMAL


def problems_of(folder) -> list[str]:
    with pytest.raises(PolicyError) as error:
        load_policy(folder)
    return error.value.problems


def test_the_minimal_policy_loads(policy_dir):
    policy = load_policy(policy_dir(main=MINIMAL))
    assert set(policy.document.tenants) == {"acme"}
    assert len(policy.digest) == 16


@pytest.mark.parametrize(("text", "expected"), [
    ("tenants: {acme: {roles: [viewer]\n", "main.yaml:2: YAML"),
    ("version: 1\nversion: 1\n", "main.yaml:2: YAML: found the key 'version' twice"),
    ("- just\n- a list\n", "main.yaml:1: a policy file is a mapping"),
    ("version: 2\n", "main.yaml:1: version"),
    ("version: 1\ntenant: {}\n", "main.yaml:2: tenant: unknown key"),
    ("roles:\n  viewer:\n    max_data_class: V\n", "main.yaml:3: roles.viewer.max_data_class"),
    ("roles:\n  viewer:\n    allow:\n      - tools: ['*']\n        rsik: [read]\n",
     "main.yaml:5: roles.viewer.allow.0.rsik: unknown key"),
    ("roles:\n  viewer:\n    allow:\n      - tools: ['SAP tools']\n",
     "main.yaml:4: roles.viewer.allow.0.tools.0"),
    ("roles:\n  viewer:\n    budgets: {tool_calls_per_run: '5'}\n",
     "main.yaml:3: roles.viewer.budgets.tool_calls_per_run"),  # strict: no '5' for 5
    ("rules:\n  - name: r\n    effect: deny\n    when: quantity >\n",
     "main.yaml:4: rules.0.when: bad condition: unexpected end of expression"),
    ("rules:\n  - name: r\n    effect: require_approval\n",
     "main.yaml:2: rules.0: a require_approval rule needs approval.approvers"),
    ("rules:\n  - name: r\n    effect: allow\n", "main.yaml:3: rules.0.effect"),
    ("redactions:\n  - name: bad\n    pattern: '(unclosed'\n",
     "main.yaml:3: redactions.0.pattern: not a valid regular expression"),
    ("redactions:\n  - name: empty\n    pattern: 'x*'\n",
     "main.yaml:3: redactions.0.pattern: the pattern matches the empty string"),
    ("servers:\n  sap:\n    sandbox: {mode: sometimes}\n", "main.yaml:3: servers.sap.sandbox.mode"),
    ("servers:\n  sap:\n    sandbox: {egress: x, nonsense: 1}\n",
     "main.yaml:3: servers.sap.sandbox.nonsense: unknown key"),
])
def test_bad_files_are_reported_with_file_and_line(policy_dir, text, expected):
    problems = problems_of(policy_dir(main=text))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_every_problem_of_every_file_is_reported_at_once(policy_dir):
    folder = policy_dir(a="version: 3\n", b="roles: {viewer: {colour: red}}\n")
    problems = problems_of(folder)
    assert [p.split(":")[0] for p in problems] == ["a.yaml", "b.yaml"]


def test_files_merge_and_a_name_defined_twice_is_an_error(policy_dir):
    folder = policy_dir(main=MINIMAL, more="tenants:\n  globex: {roles: [viewer]}\n")
    assert set(load_policy(folder).document.tenants) == {"acme", "globex"}
    (folder / "twice.yaml").write_text("\n\nroles:\n  viewer: {}\n")
    assert problems_of(folder) == [
        "twice.yaml:4: roles.viewer is already defined at main.yaml:10"]


def test_rules_from_several_files_keep_file_order_and_their_lines(policy_dir):
    rule = "rules:\n  - {name: %s, effect: deny, tools: ['kb.*']}\n"
    folder = policy_dir(main=MINIMAL, b_rules=rule % "second", a_rules="\n" + rule % "first")
    policy = load_policy(folder)
    assert [r.name for r in policy.document.rules] == ["first", "second"]
    assert policy.loaded.origin("rules", 1) == "b_rules.yaml:2"
    assert policy.loaded.origin("rules", 0) == "a_rules.yaml:3"


@pytest.mark.parametrize(("extra", "expected"), [
    ("tenants:\n  globex: {roles: [ghost]}\n", "tenant globex names undefined role 'ghost'"),
    ("rules:\n  - {name: r, effect: deny, roles: [ghost]}\n", "names undefined role 'ghost'"),
    ("rules:\n  - {name: r, effect: deny, tenants: [initech]}\n",
     "names undefined tenant 'initech'"),
    ("rules:\n  - {name: r, effect: require_approval, approval: {approvers: [ghost]}}\n",
     "names undefined role 'ghost'"),
    ("rules:\n  - {name: r, effect: deny, tools: [erp.delete]}\n",
     "names server 'erp', which is not under servers:"),
    ("roles:\n  extra: {allow: [{tools: ['erp.*']}]}\n", "names server 'erp'"),
    ("rules:\n  - {name: r, effect: deny}\n  - {name: r, effect: deny}\n",
     "rule name 'r' is used twice"),
])
def test_names_that_point_nowhere_are_errors(policy_dir, extra, expected):
    problems = problems_of(policy_dir(main=MINIMAL, extra=extra))
    assert any(expected in problem and problem.startswith("extra.yaml:") for problem in problems), problems


def test_an_empty_or_missing_directory_is_an_error(tmp_path):
    assert "no *.yaml policy files" in problems_of(tmp_path)[0]
    assert "no such policy directory" in problems_of(tmp_path / "nope")[0]


def test_yaml_tags_that_build_objects_are_refused(policy_dir):
    problems = problems_of(policy_dir(main="version: !!python/object/apply:os.system ['id']\n"))
    assert problems[0].startswith("main.yaml:1: YAML")
