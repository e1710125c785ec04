"""One embedding interface, two kinds of provider.

`Embedder` turns texts into unit-length float32 vectors. `local` providers run a
model shipped inside a Python package (no network, ever); the `litellm` provider
calls any OpenAI-compatible embeddings endpoint (vLLM, TEI, Ollama on-prem).
`EmbeddingModelInfo` names the model and its vector size; it is stored beside
every vector so models are never mixed (`mcp_servers.kit.store.vectors`).
"""

from mcp_servers.kit.embeddings.base import Embedder, EmbeddingModelInfo, build_embedder

__all__ = ["Embedder", "EmbeddingModelInfo", "build_embedder"]
