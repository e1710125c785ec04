"""The optional LLM verifier, against a scripted chat endpoint on loopback."""

from __future__ import annotations

import inspect
import os

import pytest

from mcp_servers.citations.settings import CitationsSettings
from mcp_servers.citations.verifier import category_for
from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable
from tests.citations.conftest import chunk_ids
from tests.helpers import serving
from tests.kb.scripted_models import ScriptedModels

pytestmark = pytest.mark.anyio
MODELS = ScriptedModels()


@pytest.fixture
async def citations_settings(anyio_backend):
    async with serving(MODELS.app) as url:
        yield CitationsSettings(_env_file=None, verifier_model="openai/scripted-verifier",
                                verifier_api_base=f"{url}/v1", verifier_timeout_s=10)


async def test_the_verifier_has_the_last_word_on_supported_claims(call):
    ids = await chunk_ids(call, "wiki://verify/site.md",
                          "The canteen opens at seven. The gate closes at ten.", tenant="verify")
    result = await call("citations.attribute", {
        "answer": "The canteen opens at seven. The gate closes at ten.", "chunk_ids": ids},
        tenant="verify")
    claims = result.structured_content["claims"]

    # the scripted verifier rejects any claim about the canteen, whatever the overlap says
    assert [(c["supported"], c["verified_by_llm"]) for c in claims] == [(False, False), (True, True)]
    assert claims[0]["support"] == []
    assert any("Claim: The gate closes at ten." in r["messages"][0]["content"]
               for r in MODELS.chat_requests)


def test_every_litellm_exception_maps_to_a_category():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm.exceptions

    classes = [c for _, c in inspect.getmembers(litellm.exceptions, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__.startswith("litellm")]
    assert {c.__name__ for c in classes if category_for(c) is None} == set()
    assert category_for(litellm.exceptions.Timeout) is UpstreamTimeout
    assert category_for(litellm.exceptions.APIConnectionError) is UpstreamUnavailable
    assert category_for(ValueError) is None
