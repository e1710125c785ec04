"""Embeddings: the local model, the LiteLLM provider over real HTTP, and mixed-model refusal."""

from __future__ import annotations

import numpy as np
import pytest
from fastmcp import Client

from mcp_servers.kit.embeddings import EmbeddingModelInfo, build_embedder
from mcp_servers.kit.embeddings.local import local_embedder
from mcp_servers.kit.embeddings.remote import LiteLLMEmbedder
from mcp_servers.kit.errors import UpstreamTimeout, UpstreamUnavailable, ValidationFailed
from mcp_servers.kit.settings import EmbeddingProvider
from mcp_servers.kit.store import Store
from mcp_servers.kit.store.vectors import EmbeddingSpaceMismatch, claim_embedding_space
from mcp_servers.memory import definition
from tests.helpers import serving
from tests.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.anyio


async def test_the_local_model_gives_deterministic_unit_vectors(anyio_backend):
    embedder = local_embedder("wordllama-l2-supercat-256")
    texts = [f"text number {i} about pumps" for i in range(20)]  # > inline batch: threaded path

    first = await embedder.embed_documents(texts)
    second = await embedder.embed_documents(texts)
    query = await embedder.embed_query(texts[3])

    assert first.shape == (20, 256) and first.dtype == np.float32
    assert np.array_equal(first, second)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(query, first[3], atol=1e-6)
    assert embedder.info == EmbeddingModelInfo("wordllama-l2-supercat-256", 256)


def test_an_unknown_local_model_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown local embedding model 'nope'"):
        local_embedder("nope")


@pytest.fixture
async def llm(anyio_backend):
    scripted = ScriptedLLM(dimensions=8)
    async with serving(scripted.app) as url:
        scripted.url = f"{url}/v1"
        yield scripted


def _remote(llm, **overrides) -> LiteLLMEmbedder:
    options = {"api_base": llm.url, "api_key": None, "dimensions": 8, "timeout_s": 5.0}
    return LiteLLMEmbedder("openai/bge-m3", **{**options, **overrides})


async def test_litellm_embeds_through_an_openai_compatible_endpoint(llm):
    vectors = await _remote(llm).embed_documents(["alpha", "beta"])

    expected = np.array([llm.vector("alpha"), llm.vector("beta")], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(vectors, expected, atol=1e-5)
    assert llm.requests[0]["model"] == "bge-m3" and llm.requests[0]["input"] == ["alpha", "beta"]


async def test_litellm_batches_large_inputs(llm):
    vectors = await _remote(llm).embed_documents([f"t{i}" for i in range(130)])
    assert vectors.shape == (130, 8)
    assert [len(r["input"]) for r in llm.requests] == [64, 64, 2]


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, UpstreamUnavailable), (503, UpstreamUnavailable), (429, UpstreamUnavailable),
     (400, ValidationFailed)],
)
async def test_litellm_failures_map_to_the_taxonomy(llm, status, error):
    llm.embedding_status = status
    with pytest.raises(error):
        await _remote(llm).embed_documents(["x"])


async def test_a_slow_endpoint_is_an_upstream_timeout(llm):
    llm.embedding_delay_s = 1.0
    with pytest.raises(UpstreamTimeout):
        await _remote(llm, timeout_s=0.2).embed_documents(["x"])


async def test_vectors_of_the_wrong_size_are_a_fault_not_data(llm):
    with pytest.raises(RuntimeError, match="returned 8-d vectors; 16 are configured"):
        await _remote(llm, dimensions=16).embed_documents(["x"])


def test_settings_choose_the_provider(settings):
    remote = build_embedder(settings.model_copy(update={
        "embedding_provider": EmbeddingProvider.LITELLM, "embedding_model": "openai/e5",
        "embedding_dimensions": 1024, "embedding_api_base": "http://127.0.0.1:1/v1"}))
    assert remote.info == EmbeddingModelInfo("openai/e5", 1024)
    with pytest.raises(ValueError, match="TESSERA_EMBEDDING_DIMENSIONS"):
        build_embedder(settings.model_copy(update={"embedding_provider": EmbeddingProvider.LITELLM}))


async def test_a_collection_refuses_a_second_model(settings, anyio_backend):
    async with Store.from_settings(settings, application_name="test") as store:
        await claim_embedding_space(store, "spaces-test", EmbeddingModelInfo("model-a", 256))
        await claim_embedding_space(store, "spaces-test", EmbeddingModelInfo("model-a", 256))
        with pytest.raises(EmbeddingSpaceMismatch, match="made with model-a \\(256-d\\)"):
            await claim_embedding_space(store, "spaces-test", EmbeddingModelInfo("model-b", 384))


async def test_the_memory_server_will_not_start_on_a_different_model(settings, llm):
    async with Store.from_settings(settings, application_name="test") as store:
        await claim_embedding_space(store, "memories", local_embedder(settings.embedding_model).info)
    other = settings.model_copy(update={
        "embedding_provider": EmbeddingProvider.LITELLM, "embedding_model": "openai/other",
        "embedding_dimensions": 8, "embedding_api_base": llm.url})
    server = definition.create(other)
    with pytest.raises(Exception) as refused:
        async with Client(server.mcp):
            pass
    assert "were made with wordllama-l2-supercat-256" in repr(refused.value) + repr(
        refused.value.__cause__) + str(getattr(refused.value, "exceptions", ""))


def test_the_minilm_option_gives_384_d_unit_vectors_that_know_paraphrases():
    embedder = local_embedder("all-minilm-l6-v2")
    vectors = embedder.embed_sync([
        "The spindle bearing on machine 4 is overheating.",
        "Machine four's spindle bearing runs too hot.",
        "The canteen serves soup on Fridays.",
    ])

    assert embedder.info == EmbeddingModelInfo("all-minilm-l6-v2", 384)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.7 > vectors[0] @ vectors[2]
    again = embedder.embed_sync(["The spindle bearing on machine 4 is overheating."])
    assert np.allclose(again[0], vectors[0], atol=1e-5)  # batching moves it by ~1e-7
