"""PII redaction with the shipped patterns: what goes, and what stays."""

from __future__ import annotations

import pytest

from policies.model import Redaction
from policies.redaction import Redactor


@pytest.mark.parametrize(("text", "expected"), [
    ("mail olga.k@acme-components.de now", "mail [email] now"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("IBAN DE89370400440532013000.", "IBAN [iban]."),
    ("call +49 711 1234567 or 0711/123456", "call [phone] or [phone]"),
    ("card 4111 1111 1111 1111 expired", "card [card] expired"),
    ("PO 4500000123 for 120 pcs of RM-100 at plant 1000", None),  # business data stays
])
def test_shipped_patterns(shipped, text, expected):
    assert shipped.redactor("acme").redact(text) == (expected or text)


def test_tenant_patterns_come_after_the_global_ones(shipped):
    assert shipped.redactor("globex").redact("badge GX-123456, a@b.io") == "badge [badge], [email]"
    assert shipped.redactor("acme").redact("badge GX-123456") == "badge GX-123456"
    assert shipped.redactor("initech").names == shipped.redactor(None).names  # global only


def test_redact_obj_redacts_every_string_but_not_keys(shipped):
    redactor = shipped.redactor("acme")
    value = {"user": "ann@acme.example", "n": 3, "items": [{"note": "ring +49 30 1234567"}],
             "ann@acme.example": True, "t": ("x@y.zz",)}
    assert redactor.redact_obj(value) == {
        "user": "[email]", "n": 3, "items": [{"note": "ring [phone]"}],
        "ann@acme.example": True, "t": ["[email]"]}
    assert redactor.findings("a@b.io and c@d.io") == {"email": 2}


def test_replacements_are_literal_so_a_pattern_cannot_copy_data():
    redactor = Redactor([Redaction(name="secret", pattern=r"(s\w+)", replacement=r"\1 \g<0>")])
    assert redactor.redact("a secret") == r"a \1 \g<0>"
    assert Redactor([Redaction(name="x", pattern="x")]).redact("axb") == "a[REDACTED:x]b"
