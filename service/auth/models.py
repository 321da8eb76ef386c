from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, created_at_field


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=32, description="First characters of the secret, for display")
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64, unique=True, description="SHA-256 hex of the secret")
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    person: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
