"""Prometheus metrics: per-request ones (``prometheus-fastapi-instrumentator``, installed by
``install``), background jobs and webhook deliveries.

Job and delivery metrics live at module level in the default registry (one per process). The
request metrics live in a registry of the app's own (``app.state.metrics_registry``): the
instrumentator would silently record nothing for a second app in one process (tests), and
``/metrics`` answers both registries."""

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator

WEBHOOK_DELIVERIES = Counter(
    "ascent_webhook_deliveries_total", "Webhook delivery attempts by event type and outcome",
    ["event_type", "outcome"])
WEBHOOK_DELIVERY_SECONDS = Histogram(
    "ascent_webhook_delivery_seconds", "Duration of one webhook delivery attempt",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
WEBHOOK_BACKLOG = Gauge("ascent_webhook_backlog", "Webhook deliveries waiting to be sent")

# Background jobs (bulk imports): their runner counts each job once it ends, by final status.
JOBS = Counter("ascent_jobs_total", "Background jobs finished, by kind and final status",
               ["kind", "status"])
JOBS_RUNNING = Gauge("ascent_jobs_running", "Background jobs running now", ["kind"])


def install(app: FastAPI) -> None:
    """Request count and latency by route template (`/v1/rubrics/{key}`, never the raw path,
    so cardinality stays bounded), method and status class (2xx, 4xx ...)."""
    app.state.metrics_registry = CollectorRegistry()
    Instrumentator(
        registry=app.state.metrics_registry,
        should_group_status_codes=True,
        should_ignore_untemplated=False,
        should_group_untemplated=True,  # unknown paths count as handler="none"
        excluded_handlers=["/metrics"],
    ).instrument(app, metric_namespace="", latency_lowr_buckets=(
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def exposition(app: FastAPI) -> bytes:
    """The text `/metrics` answers: process-wide metrics, then this app's request metrics."""
    registry = getattr(app.state, "metrics_registry", None)
    return generate_latest() + (generate_latest(registry) if registry is not None else b"")
