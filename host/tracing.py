"""Tracing: spans for each run, model call and tool call, exported over OTLP when configured.

The spans use the global OpenTelemetry tracer provider; `configure_tracing` (called
once at the process edge) installs one that exports to TESSERA_HOST_OTLP_ENDPOINT.
Tool-call spans are the parents of the servers' own spans: the MCP client carries
the trace context in each call's `_meta`.
"""

from __future__ import annotations

from opentelemetry import trace

tracer = trace.get_tracer("tessera.host")


def configure_tracing(endpoint: str | None, service_name: str = "tessera-host") -> None:
    if not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
