"""One embedding interface, two kinds of provider.

`Embedder` turns texts into unit-length float32 vectors. `local` providers run a
model shipped inside a Python package (no network, ever); the `litellm` provider
calls any OpenAI-compatible embeddings endpoint (vLLM, TEI, Ollama on-prem).
`EmbeddingModelInfo` names the model and its vector size; it is stored beside
every vector so models are never mixed (`mcp_servers.kit.store.vectors`).
"""

from mcp_servers.kit.embeddings.base import Embedder, EmbeddingModelInfo
from mcp_servers.kit.settings import EmbeddingProvider, Settings


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name; providers are imported only when chosen."""
    if settings.embedding_provider is EmbeddingProvider.LITELLM:
        from mcp_servers.kit.embeddings.remote import LiteLLMEmbedder

        return LiteLLMEmbedder.from_settings(settings)
    from mcp_servers.kit.embeddings.local import local_embedder

    return local_embedder(settings.embedding_model)


__all__ = ["Embedder", "EmbeddingModelInfo", "build_embedder"]
