"""Configuration: one Settings class, read from the environment (prefix ``ASCENT_``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///./var/ascent.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASCENT_", env_file=".env", extra="ignore")

    database_url: str = Field(DEFAULT_SQLITE_URL, description="SQLAlchemy URL of the database")
    host: str = Field("127.0.0.1", description="Address `ascent serve` binds to")
    port: int = Field(8000, description="Port `ascent serve` listens on")
    bootstrap_admin_key: str | None = Field(
        None, description="A known admin API key for automation; otherwise one is generated"
    )
    jwt_jwks_url: str | None = Field(None, description="JWKS URL to verify JWT bearer tokens")
    jwt_jwks_file: Path | None = Field(None, description="JWKS file to verify JWT bearer tokens")
    jwt_issuer: str | None = Field(None, description="Expected `iss` of JWTs")
    jwt_audience: str | None = Field(None, description="Expected `aud` of JWTs")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); none by default"
    )
    max_body_bytes: int = Field(
        1_048_576, description="Largest accepted request body (bulk uploads excepted); 413 above"
    )
    log_format: Literal["json", "text"] = Field("json", description="Log line format")
    log_level: str = Field("INFO", description="Log level")
    page_size_default: int = Field(50, description="Default page size of list endpoints")
    page_size_max: int = Field(500, description="Largest page size of list endpoints")
    idempotency_ttl_hours: int = Field(24, description="How long Idempotency-Key answers are kept")
    sql_echo: bool = Field(False, description="Log every SQL statement (debugging)")


@lru_cache
def get_settings() -> Settings:
    return Settings()
