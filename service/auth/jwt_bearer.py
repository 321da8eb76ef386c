"""JWT bearer tokens (PyJWT) for portals and single sign-on, next to API keys.

A token is accepted only when it is signed with RS256 or ES256 by a key of the configured
JWKS (a file, or a URL fetched and cached, refetched when a token names an unknown ``kid``),
and its ``iss``, ``aud``, ``exp`` (and ``nbf`` when present) check out within the clock-skew
leeway. The ``scope`` claim (space separated) grants the Ascent scopes it names; anything
else in it is ignored.

``sub`` binds the principal to the person with that external id (self-service portal users).
A ``sub`` that names no synced person never silently widens into organisation-wide access:
it is refused, unless it is listed in ``ASCENT_JWT_SERVICE_SUBJECTS`` (a machine client) or
the deployment chose ``ASCENT_JWT_UNKNOWN_SUBJECT=unbound``. A synced person's id always
binds, even when also listed as a service subject: the narrower reading wins.

Configuration is checked once at start-up (``verifier_from_settings``): a half-configured
verifier is an error, never a silently open (or silently closed) door.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError, PyJWTError

from ..settings import Settings
from .principal import Principal
from .scopes import SCOPES

log = logging.getLogger("ascent.auth.jwt")

ALGORITHMS = ("RS256", "ES256")  # pinned: never HS* (a public key is no secret), never none
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class JwtConfigError(RuntimeError):
    """The JWT settings cannot work; raised at start-up."""


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments (API keys start with ``asc_`` and have no dots)."""
    return token.count(".") == 2 and not token.startswith("asc_")


def _usable_keys(data: Any, source: str) -> dict[str | None, PyJWK]:
    """The signing keys of a JWKS document that fit the pinned algorithms, by ``kid``."""
    try:
        keyset = PyJWKSet.from_dict(data)
    except (PyJWKSetError, PyJWKError, AttributeError, TypeError) as exc:
        raise JwtConfigError(f"{source} is not a usable JWKS: {exc}") from exc
    keys: dict[str | None, PyJWK] = {}
    for key in keyset.keys:
        raw = key._jwk_data
        if raw.get("use", "sig") != "sig" or key.algorithm_name not in ALGORITHMS:
            continue
        if raw.get("kty") != _KEY_TYPES[key.algorithm_name]:
            continue
        keys[key.key_id] = key
    if not keys:
        raise JwtConfigError(f"{source} has no RS256 or ES256 signing key.")
    return keys


class FileJwks:
    """Keys read once from a JWKS file (restart to rotate)."""

    def __init__(self, path: Path) -> None:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise JwtConfigError(f"ASCENT_JWT_JWKS_FILE {path} cannot be read: {exc}") from exc
        self.keys = _usable_keys(data, f"ASCENT_JWT_JWKS_FILE {path}")

    def get(self, kid: str | None) -> PyJWK | None:
        return self.keys.get(kid)


class UrlJwks:
    """Keys fetched from a JWKS URL, kept ``ttl`` seconds; an unknown ``kid`` refetches at
    most once per ``cooldown`` seconds, so random ``kid``s cannot hammer the identity
    provider. Fetching happens lazily, on the first token, so start-up never waits on it."""

    def __init__(self, url: str, ttl: float, cooldown: float = 10.0,
                 timeout: float = 5.0) -> None:
        self.url, self.ttl, self.cooldown, self.timeout = url, ttl, cooldown, timeout
        self.keys: dict[str | None, PyJWK] = {}
        self.fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        try:
            response = httpx.get(self.url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            self.keys = _usable_keys(response.json(), f"JWKS at {self.url}")
        except (httpx.HTTPError, ValueError, JwtConfigError) as exc:
            # Keep the keys we had: an identity provider hiccup must not log everyone out.
            log.warning("JWKS fetch from %s failed: %s", self.url, exc)
        self.fetched_at = time.monotonic()

    def get(self, kid: str | None) -> PyJWK | None:
        with self._lock:
            age = time.monotonic() - self.fetched_at
            if age > self.ttl or (kid not in self.keys and age > self.cooldown):
                self._fetch()
            return self.keys.get(kid)


@dataclass
class JwtVerifier:
    jwks: FileJwks | UrlJwks
    issuer: str
    audience: str
    leeway: int
    service_subjects: frozenset[str] = frozenset()
    unknown_subject: str = "refuse"  # or "unbound"

    def principal(self, claims: dict[str, Any], synced: bool) -> Principal | None:
        """The principal of verified ``claims``; ``synced``: whether ``sub`` is a synced
        person. None when the subject may not be let in (see the module doc)."""
        sub = str(claims["sub"])
        if synced:
            return principal_from_claims(claims, sub)
        if sub in self.service_subjects or self.unknown_subject == "unbound":
            return principal_from_claims(claims, None)
        return None

    def claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims, or None for any token that does not verify."""
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            return None
        if header.get("alg") not in ALGORITHMS:
            return None
        key = self.jwks.get(header.get("kid"))
        if key is None:
            return None
        try:
            return jwt.decode(
                token, key=key, algorithms=list(ALGORITHMS), issuer=self.issuer,
                audience=self.audience, leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except PyJWTError as exc:
            log.info("JWT refused: %s", type(exc).__name__)
            return None


def granted_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Ascent scopes named in the ``scope`` claim (a space-separated string, or a list)."""
    raw = claims.get("scope", "")
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return frozenset(n for n in names if isinstance(n, str) and n in SCOPES)


def principal_from_claims(claims: dict[str, Any], person: str | None) -> Principal:
    sub = str(claims["sub"])
    return Principal(id=f"jwt:{sub}"[:200], name=str(claims.get("name") or sub)[:200],
                     scopes=granted_scopes(claims), person=person)


def verifier_from_settings(settings: Settings) -> JwtVerifier | None:
    """None when JWTs are not configured; raises ``JwtConfigError`` when half configured."""
    url, path = settings.jwt_jwks_url, settings.jwt_jwks_file
    if not url and not path:
        if settings.jwt_issuer or settings.jwt_audience:
            raise JwtConfigError("ASCENT_JWT_ISSUER/ASCENT_JWT_AUDIENCE are set but no key "
                                 "source: set ASCENT_JWT_JWKS_URL or ASCENT_JWT_JWKS_FILE.")
        return None
    if url and path:
        raise JwtConfigError("Set one of ASCENT_JWT_JWKS_URL and ASCENT_JWT_JWKS_FILE, not both.")
    missing = [name for name, value in (("ASCENT_JWT_ISSUER", settings.jwt_issuer),
                                        ("ASCENT_JWT_AUDIENCE", settings.jwt_audience))
               if not value]
    if missing:
        raise JwtConfigError(f"JWT verification needs {' and '.join(missing)}: without them "
                             "any token signed by the key set would be accepted.")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise JwtConfigError(f"ASCENT_JWT_JWKS_URL must be an http(s) URL, not {url!r}.")
        jwks: FileJwks | UrlJwks = UrlJwks(url, ttl=settings.jwt_jwks_cache_seconds)
    else:
        jwks = FileJwks(path)
    return JwtVerifier(jwks=jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                       leeway=settings.jwt_leeway_seconds,
                       service_subjects=frozenset(settings.jwt_service_subjects),
                       unknown_subject=settings.jwt_unknown_subject)
