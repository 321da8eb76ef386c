"""The rater roles, defined once. Pure (no ORM): scoring, schemas, GraphQL and the packed
ratings all read this enum.

``code`` is the role's byte in ``Assessment.ratings_packed``; codes are stable forever (a new
role takes the next free code, an old one is never renumbered), so stored packs stay valid."""

from enum import StrEnum
from typing import Literal


class RaterRole(StrEnum):
    SELF = "self"
    MANAGER = "manager"
    PEER = "peer"
    UPWARD = "upward"
    OTHER = "other"

    @property
    def code(self) -> int:
        return _CODES[self]


_CODES = {RaterRole.SELF: 0, RaterRole.MANAGER: 1, RaterRole.PEER: 2, RaterRole.UPWARD: 3,
          RaterRole.OTHER: 4}
# Role values in code order (index == code): the order packed ratings and scoring arrays use.
ROLE_VALUES: tuple[str, ...] = tuple(r.value for r in sorted(RaterRole, key=_CODES.__getitem__))

# The wire type (pydantic schemas, OpenAPI): the role values inline as a string enum, in
# definition order, so request and response models need no enum of their own.
RoleName = Literal[tuple(r.value for r in RaterRole)]
