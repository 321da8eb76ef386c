"""Throttling failed authentication: 429 with ``Retry-After`` once a client has presented too
many bad credentials.

Counting is done by the ``limits`` library (moving windows in this process's memory), on two
keys:

- the client address: after ``auth_failure_limit`` failures within
  ``auth_failure_window_seconds`` every credential it presents is refused with 429 until the
  oldest failure leaves the window, before any lookup (a flood costs no database work);
- the prefix of an API key (``asc_`` and 8 characters, the part shown in logs): once that many
  failures were made under one prefix, clients that have failed themselves within the window
  get 429 for it. A client that never failed, such as the key's owner, is not locked out by
  someone guessing under its prefix. JWTs have no prefix of their own (their first characters
  are the same for every token of an issuer), so only the address counts for them.

Each replica counts for itself: behind N replicas a client gets up to N times the limit.
The address is the one the server sees; behind a proxy, start uvicorn with the proxy trusted
(``FORWARDED_ALLOW_IPS``) so that it is the client's.
"""

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection

from ..problems import TooManyRequests
from ..settings import Settings

API_KEY_PREFIX, PREFIX_LENGTH = "asc_", 12


def credential_prefix(token: str) -> str | None:
    return token[:PREFIX_LENGTH] if token.startswith(API_KEY_PREFIX) else None


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client is not None else "unknown"


class Throttle:
    def __init__(self, limit: int, window_seconds: int) -> None:
        self.item = RateLimitItemPerSecond(limit, window_seconds)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: Settings) -> "Throttle":
        return cls(settings.auth_failure_limit, settings.auth_failure_window_seconds)

    def check(self, client: str, token: str) -> None:
        """Raise ``TooManyRequests`` when this client may not try ``token`` now."""
        if not self.limiter.test(self.item, "client", client):
            raise self._refused("client", client, "this client has presented too many invalid "
                                                  "credentials")
        prefix = credential_prefix(token)
        if prefix is not None and not self.limiter.test(self.item, "prefix", prefix) \
                and self._has_failed(client):
            raise self._refused("prefix", prefix, "too many invalid credentials were presented "
                                                  "under this key prefix")

    def failed(self, client: str, token: str) -> None:
        """Count a credential that did not authenticate."""
        self.limiter.hit(self.item, "client", client)
        prefix = credential_prefix(token)
        if prefix is not None:
            self.limiter.hit(self.item, "prefix", prefix)

    def _has_failed(self, client: str) -> bool:
        return self.limiter.get_window_stats(self.item, "client", client).remaining \
            < self.item.amount

    def _refused(self, kind: str, key: str, why: str) -> TooManyRequests:
        reset = self.limiter.get_window_stats(self.item, kind, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return TooManyRequests(f"Authentication refused: {why}; retry in {wait} s.",
                               retry_after=wait)
