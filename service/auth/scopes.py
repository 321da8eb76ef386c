"""The scope catalogue: one ``<resource>:<verb>`` per resource and verb, plus ``admin``."""

ADMIN = "admin"  # every scope, and managing API keys

SCOPES: dict[str, str] = {
    ADMIN: "Everything, including API keys",
    "rubrics:read": "Read rubrics and their versions",
    "rubrics:write": "Create, edit, publish and retire rubrics",
    "people:read": "Read people",
    "people:write": "Create and update people",
    "assessments:read": "Read assessments and ratings",
    "assessments:write": "Create assessments, rate, submit, finalize",
    "readiness:read": "Read readiness reports and cohorts",
    "readiness:write": "Create readiness policy versions",
    "templates:read": "Read outline templates",
    "templates:write": "Create and publish outline templates",
    "outlines:read": "Read outlines",
    "outlines:write": "Create and update outlines",
    "bulk:write": "Start bulk imports",
    "jobs:read": "Read bulk jobs",
    "calibration:read": "Read rater effects and calibration sessions",
    "calibration:write": "Run calibration sessions: decide calibrated bands, lock",
    "fairness:read": "Read people's fairness attributes, adverse-impact analyses and their "
                     "audit log (every read is audited)",
    "fairness:write": "Store and erase people's fairness attributes",
    "webhooks:read": "Read webhook subscriptions and deliveries",
    "webhooks:write": "Manage webhook subscriptions",
    "scim": "Provision people over SCIM 2.0 (/scim/v2): read, create, replace, deactivate",
}


def unknown(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in SCOPES]
