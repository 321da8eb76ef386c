"""The registry of every table: importing this module imports each domain's models, so
``SQLModel.metadata`` is complete (Alembic, the test database set-up and the
models-match-migrations test rely on it). Nothing in a domain imports this module."""

from sqlmodel import SQLModel

from . import idempotency, retention  # noqa: F401
from .assessments import models as _assessments  # noqa: F401
from .auth import models as _auth  # noqa: F401
from .bulk import models as _bulk  # noqa: F401
from .calibration import models as _calibration  # noqa: F401
from .fairness import models as _fairness  # noqa: F401
from .outlines import models as _outlines  # noqa: F401
from .people import models as _people  # noqa: F401
from .readiness import models as _readiness  # noqa: F401
from .rubrics import models as _rubrics  # noqa: F401
from .webhooks import models as _webhooks  # noqa: F401

metadata = SQLModel.metadata


def load_all() -> type[SQLModel]:
    """SQLModel with every table registered (kept as a function for callers' readability)."""
    return SQLModel
