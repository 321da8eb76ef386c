"""Who is calling: the ``Principal``. A plain value with no framework or database imports, so
every domain can take one; the FastAPI dependencies that produce it live in ``deps.py``."""

from dataclasses import dataclass, field

from .scopes import ADMIN


@dataclass(frozen=True)
class Principal:
    id: str  # stable identity, e.g. "key:asc_1a2b3c4d" or "jwt:<sub>"
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    person: str | None = None  # external_id when bound to a person (self-service)

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes
