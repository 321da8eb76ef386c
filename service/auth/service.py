"""API keys: prefixed random secrets, stored as SHA-256, compared in constant time.

Verification runs on every request, so answers are cached for a few seconds per process;
revoking through this process clears the cache at once, other replicas within ``CACHE_TTL``.
Keys that verified and credentials that did not are cached apart, each bounded: a flood of
unknown tokens churns only its own small cache and never evicts a good key's entry.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter
from datetime import datetime

from sqlmodel import Session, select

from ..cache import LRU
from ..models import utcnow
from ..problems import Conflict, NotFound
from .models import ApiKey
from .principal import Principal
from .schemas import ApiKeyCreate
from .scopes import ADMIN

KEY_PREFIX = "asc_"
CACHE_TTL = 10.0
_cache = LRU(10_000)  # digest -> (expires, Principal): keys that verified
_unknown = LRU(1_000)  # digest -> expires: unknown, revoked or expired credentials
_lock = threading.Lock()
stats: Counter[str] = Counter()  # lookups by outcome: hit, unknown_hit, miss


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_key(session: Session, data: ApiKeyCreate, secret: str | None = None
               ) -> tuple[ApiKey, str]:
    secret = secret or new_secret()
    key = ApiKey(
        prefix=secret[:12], name=data.name, secret_hash=hash_secret(secret),
        scopes=list(data.scopes), person=data.person, expires_at=data.expires_at,
    )
    session.add(key)
    session.flush()
    with _lock:
        _unknown.clear()  # it may have been tried before it existed
    return key, secret


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.exec(query))


def get_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    return key


def revoke_key(session: Session, key_id: int) -> ApiKey:
    key = get_key(session, key_id)
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked.")
    key.revoked_at = utcnow()
    session.add(key)
    session.flush()
    with _lock:
        _cache.clear()
    return key


def _principal(key: ApiKey, now: datetime) -> Principal | None:
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return Principal(id=f"key:{key.prefix}", name=key.name,
                     scopes=frozenset(key.scopes), person=key.person)


def cached_api_key(secret: str) -> tuple[bool, Principal | None]:
    """(known, principal) from this process's caches: known is False when the database must
    be asked. No I/O, so it may run on the event loop."""
    digest, now = hash_secret(secret), time.monotonic()
    with _lock:
        hit, unknown = _cache.get(digest), _unknown.get(digest)
    if hit is not None and hit[0] > now:
        stats["hit"] += 1
        return True, hit[1]
    if unknown is not None and unknown > now:
        stats["unknown_hit"] += 1
        return True, None
    return False, None


def authenticate_api_key(session: Session, secret: str) -> Principal | None:
    known, principal = cached_api_key(secret)
    if known:
        return principal
    stats["miss"] += 1
    digest, now = hash_secret(secret), time.monotonic()
    key = session.exec(select(ApiKey).where(ApiKey.secret_hash == digest)).first()
    if key is not None and hmac.compare_digest(key.secret_hash, digest):
        principal = _principal(key, utcnow())
    with _lock:
        if principal is not None:
            _cache.put(digest, (now + CACHE_TTL, principal))
        else:
            _cache.pop(digest, None)
            _unknown.put(digest, now + CACHE_TTL)
    return principal


def ensure_admin_key(session: Session, bootstrap_secret: str | None) -> str | None:
    """Make sure an admin key exists. Returns a new secret to show once, else None.

    With ``bootstrap_secret`` that exact key is registered (if it is not already)."""
    if bootstrap_secret:
        exists = session.exec(
            select(ApiKey).where(ApiKey.secret_hash == hash_secret(bootstrap_secret))
        ).first()
        if exists is None:
            create_key(session, ApiKeyCreate(name="bootstrap-admin", scopes=[ADMIN]),
                       secret=bootstrap_secret)
        return None
    active = [k for k in list_keys(session) if ADMIN in k.scopes and _principal(k, utcnow())]
    if active:
        return None
    _, secret = create_key(session, ApiKeyCreate(name="admin", scopes=[ADMIN]))
    return secret
