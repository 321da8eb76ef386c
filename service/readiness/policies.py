"""Readiness policies: named, versioned scoring parameters stored as rows. ``progress`` v1
and v2 are built in (scoring.BUILT_IN_POLICIES; v2, the default, scores by rules 2) and also
stored as data by ``ascent load-defaults``. A stored version wins over a built-in one of the
same number; the latest version of ``progress`` is at least the newest built-in one, so a
database made before v2 scores with v2 even before ``load-defaults`` stores it.

Policy versions never change, so their scoring form is cached per process and database;
"which version is the latest" is asked of the database at most once per ``cache.LATEST_TTL``
seconds (a version made in this process is seen at once)."""

from sqlalchemy import func
from sqlmodel import Session, select

from ..cache import LRU, Latest, db_key
from ..problems import FieldError, InvalidInput, NotFound
from . import scoring
from .models import ReadinessPolicy
from .schemas import PolicyCreate, PolicyRead

DEFAULT_POLICY_NAME = scoring.DEFAULT_POLICY.name
BUILT_IN = {(p.name, p.version): p for p in scoring.BUILT_IN_POLICIES}

_policies = LRU(256)
_latest = Latest()  # name -> latest stored version


def clear_cache() -> None:
    _policies.clear()
    _latest.clear()


def _policy_row(session: Session, name: str, version: int | None) -> ReadinessPolicy | None:
    query = select(ReadinessPolicy).where(ReadinessPolicy.name == name)
    if version is not None:
        query = query.where(ReadinessPolicy.version == version)
    return session.exec(query.order_by(ReadinessPolicy.version.desc()).limit(1)).first()


def get_policy(session: Session, name: str, version: int | None = None) -> scoring.Policy:
    """A policy by name (latest version unless given); built-in versions count as stored."""
    if version is None:  # one scalar query; the versions themselves never change
        version = latest_version(session, name)
    cache_key = (db_key(session), name, version)
    if (cached := _policies.get(cache_key)) is not None:
        return cached
    row = _policy_row(session, name, version) if version is not None else None
    if row is None:
        if (name, version) in BUILT_IN:  # not stored (yet): the same parameters
            return _policies.put(cache_key, BUILT_IN[name, version])
        raise NotFound(f"No readiness policy '{name}'" + (f" version {version}." if version
                                                          else "."))
    return _policies.put(cache_key, scoring.Policy.from_dict(
        row.body | {"name": name, "version": row.version}))


def latest_version(session: Session, name: str) -> int | None:
    """The newest version of a policy, stored or built in; None when there is none."""
    stored = _latest.get(session, name)
    if stored is None:  # 0: none stored
        stored = _latest.put(session, name, session.exec(select(func.max(
            ReadinessPolicy.version)).where(ReadinessPolicy.name == name)).one() or 0)
    built_in = max((v for n, v in BUILT_IN if n == name), default=None)
    return max((v for v in (stored, built_in) if v), default=None)


def policy_read(policy: scoring.Policy, created_at=None) -> PolicyRead:
    params = {k: v for k, v in policy.to_dict().items() if k not in ("name", "version")}
    return PolicyRead(name=policy.name, version=policy.version, parameters=params,
                      created_at=created_at)


def list_policies(session: Session) -> list[PolicyRead]:
    rows = session.exec(select(ReadinessPolicy).order_by(ReadinessPolicy.name,
                                                         ReadinessPolicy.version)).all()
    out = [policy_read(get_policy(session, r.name, r.version), r.created_at) for r in rows]
    stored = {(r.name, r.version) for r in rows}
    missing = [policy_read(p) for key, p in BUILT_IN.items() if key not in stored]
    return sorted(out + missing, key=lambda p: (p.name, p.version))


def create_policy_version(session: Session, data: PolicyCreate) -> PolicyRead:
    """The next version of a policy: the previous version's parameters with these changes."""
    latest = latest_version(session, data.name)
    # a new name starts from the default parameters (rules 2) as its version 1
    base = get_policy(session, data.name, latest) if latest is not None else None
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
    _latest.forget(session, data.name)
    return policy_read(policy, row.created_at)


def ensure_default_policy(session: Session) -> str:
    """Store the built-in versions of ``progress`` as data (idempotent), so they are listed
    and versioned like others. A version someone stored under the same number is kept."""
    done = []
    for (name, version), policy in BUILT_IN.items():
        row = _policy_row(session, name, version)
        body = {k: v for k, v in policy.to_dict().items() if k not in ("name", "version")}
        if row is None:
            session.add(ReadinessPolicy(name=name, version=version, body=body))
            _latest.forget(session, name)
            done.append(f"stored version {version}")
        elif row.body != body:
            done.append(f"version {version} kept as stored (it differs from the built-in one)")
    session.flush()
    return "policy progress: " + ("; ".join(done) if done else "up to date")
