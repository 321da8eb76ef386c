"""Rubric tables: a rubric (stable key) has numbered versions; a version owns its scale,
levels and competencies, and each competency its per-level expectations and recommendations.
Drafts may be incomplete; publishing validates (``service.validate_for_publish``)."""


from sqlalchemy import JSON, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from .. import versioning
from ..models import row_version_column
from ..versioning import DRAFT, PUBLISHED, RETIRED  # noqa: F401  (re-exported)


def _parent(table: str) -> int:
    return Field(sa_column=Column(Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"),
                                  nullable=False, index=True))


class Rubric(versioning.DocumentTable, table=True):
    __tablename__ = "rubric"

    versions: list["RubricVersion"] = Relationship(back_populates="rubric")


_version_row_version = row_version_column()


class RubricVersion(versioning.VersionTable, table=True):
    __tablename__ = "rubric_version"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)
    __mapper_args__ = {"version_id_col": _version_row_version}

    rubric_id: int = _parent("rubric")
    policy: str = Field(default="progress", max_length=64)
    scale_min: int
    scale_max: int
    scale_labels: dict[str, str] = Field(default_factory=dict,
                                         sa_column=Column(JSON, nullable=False))
    row_version: int | None = Field(default=None, sa_column=_version_row_version)

    rubric: Rubric = Relationship(back_populates="versions")
    # lazy="raise" here and on Competency: reads load the content explicitly (service.CONTENT).
    levels: list["RubricLevel"] = Relationship(
        sa_relationship_kwargs={"order_by": "RubricLevel.position",
                                "cascade": "all, delete-orphan", "lazy": "raise"})
    competencies: list["Competency"] = Relationship(
        sa_relationship_kwargs={"order_by": "Competency.position",
                                "cascade": "all, delete-orphan", "lazy": "raise"})


class RubricLevel(SQLModel, table=True):
    __tablename__ = "rubric_level"

    id: int | None = Field(default=None, primary_key=True)
    rubric_version_id: int = _parent("rubric_version")
    position: int
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    order: int
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))


class Competency(SQLModel, table=True):
    __tablename__ = "competency"

    id: int | None = Field(default=None, primary_key=True)
    rubric_version_id: int = _parent("rubric_version")
    position: int
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    weight: float = 1.0
    quadrant: str | None = Field(default=None, max_length=32)
    leadership_dimensions: list[str] | None = Field(default=None,
                                                    sa_column=Column(JSON, nullable=True))

    expectations: list["Expectation"] = Relationship(
        sa_relationship_kwargs={"order_by": "Expectation.position",
                                "cascade": "all, delete-orphan", "lazy": "raise"})
    recommendations: list["Recommendation"] = Relationship(
        sa_relationship_kwargs={"order_by": "Recommendation.position",
                                "cascade": "all, delete-orphan", "lazy": "raise"})


class Expectation(SQLModel, table=True):
    __tablename__ = "expectation"

    id: int | None = Field(default=None, primary_key=True)
    competency_id: int = _parent("competency")
    position: int
    level: str = Field(max_length=64, description="Level key (drafts may name unknown levels)")
    proficiency: int
    descriptor: str = Field(default="", sa_column=Column(Text, nullable=False))
    gate: bool = False
    gate_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendation"

    id: int | None = Field(default=None, primary_key=True)
    competency_id: int = _parent("competency")
    position: int
    kind: str = Field(max_length=64)
    title: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    # NULL: the advice fits every target level.
    levels: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    kind_of_work: str | None = Field(default=None, max_length=16)
