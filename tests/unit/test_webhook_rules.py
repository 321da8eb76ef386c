"""The pure rules of webhook delivery: backoff, Retry-After, outcomes, and target URLs."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from service.settings import Settings
from service.webhooks.delivery import Job, backoff, decide, retry_after
from service.webhooks.urls import UnsafeUrl, check_resolved, check_url

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SETTINGS = Settings(webhooks_backoff_seconds=5, webhooks_max_attempts=4)


def job(attempt: int) -> Job:
    return Job(delivery_id=1, attempt=attempt, subscription_id=None, url="https://x.example/h",
               secret="whsec_c2VjcmV0", message_id="msg_1", event_type="rubric.published",
               body="{}")


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(7)
    for attempt, ceiling in ((1, 5), (2, 10), (3, 20), (10, 2560), (30, 6 * 3600)):
        delays = [backoff(attempt, 5, rng).total_seconds() for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)
        assert len(set(delays)) > 1  # jittered: retries of many receivers do not align


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("120", NOW) == timedelta(seconds=120)
    assert retry_after("Sun, 22 Nov 2026 12:05:00 GMT", NOW) == timedelta(minutes=5)
    assert retry_after("Sun, 22 Nov 2026 11:00:00 GMT", NOW) == timedelta(0)
    assert retry_after("999999999", NOW) == timedelta(hours=24)
    assert retry_after("soon", NOW) is None and retry_after(None, NOW) is None


def test_outcomes():
    assert decide(job(1), 200, None, now=NOW, settings=SETTINGS) == ("succeeded", None)
    assert decide(job(1), 410, None, now=NOW, settings=SETTINGS) == ("gone", None)
    outcome, at = decide(job(1), 503, "600", now=NOW, settings=SETTINGS)
    assert outcome == "retry" and at == NOW + timedelta(seconds=600)
    outcome, at = decide(job(2), None, None, now=NOW, settings=SETTINGS)
    assert outcome == "retry" and NOW + timedelta(seconds=5) <= at <= NOW + timedelta(seconds=10)
    assert decide(job(4), 500, None, now=NOW, settings=SETTINGS) == ("failed", None)


@pytest.mark.parametrize("url", [
    "ftp://hr.example.com/h", "http://127.0.0.1/h", "http://127.1.2.3:9000/h", "http://10.0.0.1/",
    "http://172.16.5.4/", "http://192.168.1.1/", "http://169.254.169.254/", "http://[::1]/",
    "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://localhost/",
    "http://LOCALHOST./", "http://a.localhost/", "http://u:p@hr.example.com/",
    "http://hr.example.com:99999/", "http:///nohost"])
def test_unsafe_urls_are_refused(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_names_are_checked_after_resolution(monkeypatch):
    check_url("https://hr.example.com/hooks", allow_private=False)  # a name: checked at delivery
    answers = {"hr.example.com": "10.0.0.7", "hooks.example.com": "93.184.216.34"}

    def resolve(host, port, **_):  # no DNS in tests: a name that points inside the network
        return [(None, None, None, "", (answers[host], port))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)
    with pytest.raises(UnsafeUrl, match="non-public"):
        check_resolved("https://hr.example.com/hooks", allow_private=False)
    check_resolved("https://hooks.example.com/h", allow_private=False)
    check_resolved("https://hr.example.com/hooks", allow_private=True)
    check_url("http://127.0.0.1:8080/h", allow_private=True)


def test_a_pinned_request_keeps_the_host_and_the_tls_name():
    from service.webhooks.urls import pinned

    plain = pinned("https://hooks.example.com/h?x=1", "93.184.216.34")
    assert str(plain.url) == "https://93.184.216.34/h?x=1"
    assert plain.headers == {"host": "hooks.example.com"}
    assert plain.extensions == {"sni_hostname": "hooks.example.com"}
    v6 = pinned("http://Bücher.example:8080/h", "2606:2800:220:1::1")
    assert str(v6.url) == "http://[2606:2800:220:1::1]:8080/h"
    assert v6.headers == {"host": "xn--bcher-kva.example:8080"}
    assert v6.extensions == {"sni_hostname": "xn--bcher-kva.example"}
    untouched = pinned("http://127.0.0.1:8080/h", None)
    assert str(untouched.url) == "http://127.0.0.1:8080/h" and untouched.headers == {}


def test_the_checked_address_is_the_one_returned(monkeypatch):
    calls = []

    def resolve(host, port, **_):
        calls.append(host)
        return [(None, None, None, "", ("93.184.216.34", port)),
                (None, None, None, "", ("93.184.216.35", port))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)
    assert check_resolved("https://hooks.example.com/h", allow_private=False) == "93.184.216.34"
    assert check_resolved("https://93.184.216.40/h", allow_private=False) is None  # a literal
    assert calls == ["hooks.example.com"]
