"""forget, export_user and erase_user: deletion, GDPR access and erasure, and who may do them."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.anyio


async def _remember(call, user: str, *contents: str) -> list[str]:
    ids = []
    for content in contents:
        result = await call("remember", {"content": content}, user=user)
        assert not result.is_error, result.structured_content
        ids.append(result.structured_content["id"])
    return ids


async def test_forget_deletes_only_the_named_memories(call):
    keep, drop = await _remember(call, "forget", "Keep the blue folder.", "Drop the red folder.")
    missing = str(uuid.uuid4())

    result = await call("forget", {"ids": [drop, missing]}, user="forget")

    assert result.structured_content == {"forgotten": [drop], "not_found": [missing]}
    export = await call("export_user", {}, user="forget")
    assert [m["id"] for m in export.structured_content["memories"]] == [keep]


async def test_forget_cannot_touch_another_users_memory(call):
    [theirs] = await _remember(call, "victim", "Victim's memory about pallets.")

    result = await call("forget", {"ids": [theirs]}, user="attacker")

    assert result.structured_content["error_category"] == "not_found"
    export = await call("export_user", {}, user="victim")
    assert [m["id"] for m in export.structured_content["memories"]] == [theirs]


async def test_export_pages_through_everything(call):
    ids = await _remember(call, "pages", "Alpha pump notes.", "Bravo valve notes.",
                          "Charlie motor notes.", "Delta gearbox notes.", "Echo sensor notes.")
    seen, after = [], None
    while True:
        page = await call("export_user", {"limit": 2, **({"after": after} if after else {})},
                          user="pages")
        seen.extend(m["id"] for m in page.structured_content["memories"])
        after = page.structured_content["next_after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


async def test_erase_leaves_no_row_or_vector_and_is_audited(call, database):
    await _remember(call, "erase-me", "Erase me: shoe size 44.", "Erase me: lives in Ulm.")
    await _remember(call, "bystander", "Bystander stays.")

    result = await call("erase_user", {"confirm": True}, user="erase-me")

    assert result.structured_content["erased"] == 2
    with database.admin() as conn:
        rows = conn.execute("SELECT count(*) FROM memories WHERE user_id = 'erase-me'").fetchone()
        bystander = conn.execute(
            "SELECT count(*) FROM memories WHERE user_id = 'bystander'").fetchone()
        audit = conn.execute(
            "SELECT actor, action, target, details FROM audit_events WHERE tenant_id = 'acme' "
            "AND seq = %s", (result.structured_content["audit_seq"],)).fetchone()
    assert rows == (0,)
    assert bystander == (1,)
    assert audit[:3] == ("erase-me", "memory.erase_user", "erase-me")
    assert audit[3]["erased"] == 2


async def test_only_an_admin_may_export_or_erase_someone_else(call):
    await _remember(call, "subject", "Subject's memory of line 2.")

    denied_export = await call("export_user", {"user": "subject"}, user="curious")
    denied_erase = await call("erase_user", {"user": "subject", "confirm": True}, user="curious")
    admin_export = await call("export_user", {"user": "subject"}, user="dpo", roles=("admin",))
    admin_erase = await call("erase_user", {"user": "subject", "confirm": True}, user="dpo",
                             roles=("admin",))

    assert denied_export.structured_content["error_category"] == "forbidden"
    assert denied_erase.structured_content["error_category"] == "forbidden"
    assert len(admin_export.structured_content["memories"]) == 1
    assert admin_erase.structured_content == {**admin_erase.structured_content,
                                              "user": "subject", "erased": 1}


async def test_erase_requires_explicit_confirmation(call):
    await _remember(call, "unsure", "Unsure user's memory.")

    refused = await call("erase_user", {"confirm": False}, user="unsure")

    assert refused.structured_content["error_category"] == "validation"
    export = await call("export_user", {}, user="unsure")
    assert len(export.structured_content["memories"]) == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("remember", {"content": ""}, "content"),
        ("remember", {"content": "x" * 4001}, "content"),
        ("remember", {"content": "ok", "kind": "GOSSIP"}, "kind"),
        ("remember", {"content": "ok", "importance": 2}, "importance"),
        ("remember", {"content": "ok", "tags": ["has space"]}, "tags.0"),
        ("remember", {"content": "ok", "ttl_s": 1}, "ttl_s"),
        ("remember", {"content": "ok", "tenant": "other"}, "tenant"),
        ("recall", {"query": "q", "k": 0}, "k"),
        ("recall", {}, "query"),
        ("forget", {"ids": ["not-a-uuid"]}, "ids.0"),
        ("forget", {"ids": []}, "ids"),
        ("export_user", {"limit": 0}, "limit"),
    ],
)
async def test_bad_input_is_a_validation_error_naming_the_field_and_changes_nothing(
    call, database, tool, arguments, field
):
    with database.admin() as conn:
        before = conn.execute("SELECT count(*) FROM memories").fetchone()

    result = await call(tool, arguments, user="bad-input")

    assert result.is_error
    payload = result.structured_content
    assert payload["error_category"] == "validation"
    assert field in [f["field"] for f in payload["details"]["fields"]]
    with database.admin() as conn:
        assert conn.execute("SELECT count(*) FROM memories").fetchone() == before
