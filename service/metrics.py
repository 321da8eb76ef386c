"""Prometheus metrics (``prometheus-client``): per-request ones (``RequestMetrics``, recorded by
the edge layer, ``edge.Edge``), background jobs and webhook deliveries.

Job and delivery metrics live at module level in the default registry (one per process). The
request metrics live in a registry of the app's own (``app.state.metrics_registry``), so two
apps in one process (tests) count apart; ``/metrics`` answers both registries."""

import threading

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UNTEMPLATED = "none"  # the handler label of requests no route matched
EXCLUDED = frozenset({"/metrics"})


class RequestMetrics:
    """Request count and latency by route template (`/v1/rubrics/{key}`, never the raw path,
    so cardinality stays bounded), method and status class (2xx, 4xx ...)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests_total", "Total number of requests by method, status and handler.",
            ["method", "status", "handler"], registry=registry)
        self.latency = Histogram(
            "http_request_duration_seconds", "Latency of requests by handler and method.",
            ["handler", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        self._children: dict[tuple[str, str, int], tuple] = {}  # labels() takes a lock
        self._lock = threading.Lock()

    def observe(self, route: str | None, method: str, status: int, seconds: float) -> None:
        if route in EXCLUDED:
            return
        handler = route or UNTEMPLATED
        key = (handler, method, status // 100)
        children = self._children.get(key)
        if children is None:
            with self._lock:
                children = self._children.setdefault(key, (
                    self.requests.labels(method, f"{status // 100}xx", handler),
                    self.latency.labels(handler, method)))
        children[0].inc()
        children[1].observe(seconds)


def install(app: FastAPI) -> None:
    app.state.metrics_registry = CollectorRegistry()
    app.state.request_metrics = RequestMetrics(app.state.metrics_registry)


def exposition(app: FastAPI) -> bytes:
    """The text `/metrics` answers: process-wide metrics, then this app's request metrics."""
    registry = getattr(app.state, "metrics_registry", None)
    return generate_latest() + (generate_latest(registry) if registry is not None else b"")
