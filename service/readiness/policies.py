"""Readiness policies: named, versioned scoring parameters stored as rows. ``progress`` v1 is
built in (scoring.DEFAULT_POLICY) and also stored as data by ``ascent load-defaults``.

Policy versions never change, so their scoring form is cached per process and database;
only "which version is the latest" is asked of the database each time."""

from sqlalchemy import func
from sqlmodel import Session, select

from ..cache import LRU, db_key
from ..problems import FieldError, InvalidInput, NotFound
from . import scoring
from .models import ReadinessPolicy
from .schemas import PolicyCreate, PolicyRead

DEFAULT_POLICY_NAME = scoring.DEFAULT_POLICY.name

_policies = LRU(256)


def clear_cache() -> None:
    _policies.clear()


def _policy_row(session: Session, name: str, version: int | None) -> ReadinessPolicy | None:
    query = select(ReadinessPolicy).where(ReadinessPolicy.name == name)
    if version is not None:
        query = query.where(ReadinessPolicy.version == version)
    return session.exec(query.order_by(ReadinessPolicy.version.desc()).limit(1)).first()


def get_policy(session: Session, name: str, version: int | None = None) -> scoring.Policy:
    """A policy by name (latest version unless given). ``progress`` v1 is built in."""
    if version is None:  # one scalar query; the versions themselves never change
        version = session.exec(select(func.max(ReadinessPolicy.version)).where(
            ReadinessPolicy.name == name)).one()
        if version is None and name == DEFAULT_POLICY_NAME:
            return scoring.DEFAULT_POLICY
    cache_key = (db_key(session), name, version)
    if (cached := _policies.get(cache_key)) is not None:
        return cached
    row = _policy_row(session, name, version) if version is not None else None
    if row is None:
        if name == DEFAULT_POLICY_NAME and version == 1:
            return scoring.DEFAULT_POLICY
        raise NotFound(f"No readiness policy '{name}'" + (f" version {version}." if version
                                                          else "."))
    return _policies.put(cache_key, scoring.Policy.from_dict(
        row.body | {"name": name, "version": row.version}))


def policy_read(policy: scoring.Policy, created_at=None) -> PolicyRead:
    params = {k: v for k, v in policy.to_dict().items() if k not in ("name", "version")}
    return PolicyRead(name=policy.name, version=policy.version, parameters=params,
                      created_at=created_at)


def list_policies(session: Session) -> list[PolicyRead]:
    rows = session.exec(select(ReadinessPolicy).order_by(ReadinessPolicy.name,
                                                         ReadinessPolicy.version)).all()
    out = [policy_read(get_policy(session, r.name, r.version), r.created_at) for r in rows]
    if not any(r.name == DEFAULT_POLICY_NAME for r in rows):
        out.insert(0, policy_read(scoring.DEFAULT_POLICY))
    return out


def create_policy_version(session: Session, data: PolicyCreate) -> PolicyRead:
    """The next version of a policy: the previous version's parameters with these changes."""
    previous = _policy_row(session, data.name, None)
    if previous is not None:
        base = get_policy(session, data.name, previous.version)
    elif data.name == DEFAULT_POLICY_NAME:
        base = scoring.DEFAULT_POLICY
    else:  # a new name starts from the default parameters as its version 1
        base = None
    changes = data.model_dump(mode="json", exclude={"name"}, exclude_none=True)
    params = {k: v for k, v in (base or scoring.DEFAULT_POLICY).to_dict().items()
              if k not in ("name", "version")} | changes
    version = base.version + 1 if base is not None else 1
    try:
        policy = scoring.Policy.from_dict(params | {"name": data.name, "version": version})
    except scoring.ScoringInputError as exc:
        raise InvalidInput("The policy is invalid.", [
            FieldError(field=path.removeprefix("policy."), message=msg)
            for path, msg in exc.errors]) from exc
    row = ReadinessPolicy(name=data.name, version=version, body=params)
    session.add(row)
    session.flush()
    return policy_read(policy, row.created_at)


def ensure_default_policy(session: Session) -> str:
    """Store ``progress`` v1 as data (idempotent), so it is listed and versioned like others."""
    if _policy_row(session, DEFAULT_POLICY_NAME, 1) is not None:
        return "policy progress: up to date"
    body = {k: v for k, v in scoring.DEFAULT_POLICY.to_dict().items()
            if k not in ("name", "version")}
    session.add(ReadinessPolicy(name=DEFAULT_POLICY_NAME, version=1, body=body))
    session.flush()
    return "policy progress: stored version 1"
