"""Configuration: one Settings class, read from the environment (prefix ``ASCENT_``)."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_URL = "sqlite:///./var/ascent.db"
_ATTRIBUTE_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The attributes collected for fairness monitoring and each one's categories. Deployments
# replace them (JSON) to match what their HRIS and their law allow them to ask.
DEFAULT_FAIRNESS_ATTRIBUTES: dict[str, list[str]] = {
    "gender": ["woman", "man", "non_binary", "self_described", "prefer_not_to_say"],
    "ethnicity": ["asian", "black", "hispanic_or_latino", "indigenous", "middle_eastern",
                  "pacific_islander", "white", "two_or_more", "prefer_not_to_say"],
    "age_band": ["under_30", "30_39", "40_49", "50_59", "60_plus", "prefer_not_to_say"],
}
# A CSP source a portal can be named by: 'self' or a scheme://host[:port] origin (a leading
# "*." allowed). Anything else could smuggle other directives into the header.
_FRAME_SOURCE = re.compile(r"'self'|https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASCENT_", env_file=".env", extra="ignore")

    database_url: str = Field(DEFAULT_SQLITE_URL, description="SQLAlchemy URL of the database")
    host: str = Field("127.0.0.1", description="Address `ascent serve` binds to")
    port: int = Field(8000, description="Port `ascent serve` listens on")
    workers: int = Field(
        1, ge=1, le=64, description="Server processes `ascent serve` runs (uvicorn workers); "
                                    "about one per CPU core")
    threads: int | None = Field(
        None, ge=1, le=256, description="Worker threads per server process for the database "
        "work of requests; default 2 on SQLite, 40 on PostgreSQL (see Scaling)")
    bootstrap_admin_key: str | None = Field(
        None, description="A known admin API key for automation; otherwise one is generated"
    )
    jwt_jwks_url: str | None = Field(None, description="JWKS URL to verify JWT bearer tokens")
    jwt_jwks_file: Path | None = Field(None, description="JWKS file to verify JWT bearer tokens")
    jwt_issuer: str | None = Field(None, description="Expected `iss` of JWTs")
    jwt_audience: str | None = Field(None, description="Expected `aud` of JWTs")
    jwt_leeway_seconds: int = Field(30, ge=0, le=600,
                                    description="Clock skew allowed on JWT `exp`/`nbf`/`iat`")
    jwt_jwks_cache_seconds: int = Field(300, ge=0, description="How long a fetched JWKS is kept")
    jwt_service_subjects: list[str] = Field(
        default_factory=list,
        description="`sub`s of machine clients (JSON list) whose JWTs act for no person, "
                    "organisation-wide within their scopes; any other `sub` must name a synced "
                    "person")
    jwt_unknown_subject: Literal["refuse", "unbound"] = Field(
        "refuse",
        description="A JWT whose `sub` is neither a synced person nor a service subject: "
                    "`refuse` it (401), or accept it `unbound` (organisation-wide within its "
                    "scopes; the behaviour before this setting existed)")
    auth_failure_limit: int = Field(
        20, ge=1, description="Invalid credentials a client may present per window before 429")
    auth_failure_window_seconds: int = Field(
        60, ge=1, description="The window of auth_failure_limit, in seconds")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); none by default"
    )
    report_frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins allowed to frame the HTML readiness report and its charts (JSON "
                    "list, CSP frame-ancestors); none by default")
    max_body_bytes: int = Field(
        1_048_576, description="Largest accepted request body (bulk uploads excepted); 413 above"
    )
    log_format: Literal["json", "text"] = Field("json", description="Log line format")
    log_level: str = Field("INFO", description="Log level")
    page_size_default: int = Field(50, description="Default page size of list endpoints")
    page_size_max: int = Field(500, description="Largest page size of list endpoints")
    idempotency_ttl_hours: int = Field(24, description="How long Idempotency-Key answers are kept")
    sql_echo: bool = Field(False, description="Log every SQL statement (debugging)")
    graphql_introspection: bool | None = Field(
        None, description="Allow GraphQL introspection. Unset: on only for the embedded "
                          "default set-up (the default SQLite database under ./var, as "
                          "`make run` uses), off for any other database")
    graphql_ide: bool | None = Field(
        None, description="Serve the GraphiQL IDE at /graphql. Unset: as for introspection")
    webhooks_allow_private: bool = Field(
        False, description="Allow webhook URLs on private or loopback addresses")
    webhooks_worker: bool = Field(True, description="Deliver webhooks from the serving process")
    webhooks_poll_seconds: float = Field(1.0, gt=0, description="Webhook outbox poll interval")
    webhooks_timeout_seconds: float = Field(
        10.0, gt=0, description="Deadline of one delivery attempt, start to answer headers")
    webhooks_concurrency: int = Field(
        8, ge=1, le=256, description="Endpoints served at the same time (one at a time each)")
    webhooks_max_attempts: int = Field(12, ge=1, description="Attempts before a delivery fails")
    webhooks_backoff_seconds: float = Field(
        5.0, ge=0, description="First retry delay; doubles per attempt (with jitter), max 6 h")
    bulk_worker: bool = Field(True, description="Run bulk import jobs in the serving process")
    bulk_spool_dir: Path = Field(Path("var/bulk"),
                                 description="Where uploaded bulk files wait for their job")
    bulk_max_bytes: int = Field(2 * 1024**3, ge=1, description="Largest bulk upload; 413 above")
    bulk_batch_size: int = Field(500, ge=1, le=10_000,
                                 description="Assessments validated and written per batch")
    bulk_max_errors: int = Field(10_000, ge=1,
                                 description="Row errors kept per job (the counts stay exact)")
    retention_webhook_days: int = Field(
        30, ge=0, description="Days webhook events, deliveries and attempts are kept (0: always)")
    retention_job_days: int = Field(
        30, ge=0, description="Days ended bulk jobs and their row errors are kept (0: always)")
    retention_audit_days: int = Field(
        2557, ge=0, description="Days assessment audit rows are kept (7 years; 0: always)")
    purge_interval_seconds: int = Field(
        3600, ge=1, description="How often (across all replicas) the purge runs")
    purge_worker: bool = Field(True, description="Run the purge from the serving process")
    fairness_attributes: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_FAIRNESS_ATTRIBUTES.items()},
        description="Attributes people may declare for fairness monitoring, each with its "
                    "allowed categories (JSON object of lists; lower-case slugs)")
    bulk_heartbeat_seconds: float = Field(
        15.0, gt=0, description="How often a process marks the bulk jobs it owns as alive")

    @property
    def embedded(self) -> bool:
        """The `make run` set-up: the database is the default SQLite file under ./var."""
        return self.database_url == DEFAULT_SQLITE_URL

    @model_validator(mode="after")
    def _developer_tools(self) -> "Settings":
        """GraphiQL and introspection help someone exploring a local copy and help an attacker
        map a deployed one: unset, they follow ``embedded``; set, the setting wins."""
        if self.graphql_introspection is None:
            self.graphql_introspection = self.embedded
        if self.graphql_ide is None:
            self.graphql_ide = self.embedded
        return self

    @field_validator("fairness_attributes")
    @classmethod
    def _fairness_slugs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, categories in value.items():
            bad = [x for x in (name, *categories) if not _ATTRIBUTE_KEY.fullmatch(x)]
            if bad or not categories or "undeclared" in categories:
                raise ValueError(f"fairness attribute {name!r}: names and categories must be "
                                 "lower-case slugs, at least one category, none 'undeclared'")
        return value

    @field_validator("report_frame_ancestors")
    @classmethod
    def _frame_sources(cls, value: list[str]) -> list[str]:
        for source in value:
            if not _FRAME_SOURCE.fullmatch(source):
                raise ValueError(f"{source!r} is not an origin such as https://portal.example.com"
                                 " (or 'self')")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
