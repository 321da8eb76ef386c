"""The authorisation matrix (issue 12), generated from the app itself: a principal bound to
person A, holding every scope but ``admin``, asks every REST operation (from the OpenAPI
document) and every GraphQL field that returns a person, an assessment, a readiness report,
an outline or a rating about person B. It gets 404 (REST) or null/``NOT_FOUND`` (GraphQL),
never B's data, and cannot write B's data.

Each operation and field is classified in a table below; one missing from the table (a new
route, a new field) fails the test until someone decides its rule. Runs with an API key and
with a JWT, on both backends. Controls: the same calls made by an admin do reach B's data, so
the arrangement is what the assertions think it is.
"""

import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import GraphQLObjectType

from service.auth.scopes import ADMIN, SCOPES
from service.graphql.schema import build_schema
from service.settings import Settings
from tests.factories.binding import (
    UNKNOWN_ID,
    UNKNOWN_PERSON,
    A,
    B,
    World,
    arrange,
    snapshot,
)
from tests.factories.bulk import line, ndjson
from tests.factories.graphql import codes, gql
from tests.factories.jwts import SigningKey, jwt_settings
from tests.factories.outlines import opportunity
from tests.factories.people import person_doc
from tests.routes import mounted_operations, templated_operations

pytestmark = pytest.mark.anyio

SIGNER = SigningKey.rsa("matrix")
EVERY_SCOPE_BUT_ADMIN = sorted(s for s in SCOPES if s != ADMIN)


# --- REST: one rule per operation ------------------------------------------------------------

PUBLIC = "public"        # no credential needed; nothing about people
ADMIN_ONLY = "admin"     # needs the admin scope: 403
UNBOUND = "unbound"      # refused to any person-bound credential, whatever it addresses: 403
CATALOGUE = "catalogue"  # rubrics, templates, policies: no person's data either way
HIDDEN = "hidden"        # addressing B's data: 404, exactly as for something that does not exist
RATED = "rated"          # an assessment: 404, but one A rated in may be read (A's ratings only)
REFUSED = "refused"      # a write addressing B's data: 403 or 404, and nothing of B's changes
LIST = "list"            # lists: 200 and nothing of B's in them (admins do see B's)


@dataclass(frozen=True)
class Rule:
    kind: str
    bodies: tuple[Any, ...] = (None,)  # request bodies to try ("{name}" stands for an id)
    params: tuple[dict[str, str], ...] = ({},)  # query strings to try
    media: str = "application/json"
    # For LIST: what A may see at most (checked on each answer), e.g. a cohort of one.
    check: Any = None


EPOCH = "1970-01-01T00:00:00Z"
RATINGS = [{"competency": "strategy", "proficiency": 6, "evidence": "inflated"}]
OUTLINE = opportunity()
OUTLINE_CONTENT = {k: OUTLINE[k] for k in ("title", "values")}
SIMULATE = {"changes": [{"competency": "strategy", "rater_role": "manager", "rater_id": A,
                         "proficiency": 6}]}


def cohort_of_one(response) -> bool:
    """A's cohort holds A alone (A's finalized assessment), never B."""
    if response.headers["content-type"].startswith("text/csv"):
        return len(response.text.strip().splitlines()) <= 2
    return response.json()["people"] <= 1


RULES: dict[str, Rule] = {
    "GET /livez": Rule(PUBLIC),
    "GET /healthz": Rule(PUBLIC),
    "GET /readyz": Rule(PUBLIC),
    "POST /v1/api-keys": Rule(ADMIN_ONLY, bodies=({"name": "x", "scopes": ["admin"],
                                                   "person": None},)),
    "GET /v1/api-keys": Rule(ADMIN_ONLY),
    "POST /v1/api-keys/{key_id}/revoke": Rule(ADMIN_ONLY),
    "GET /v1/rubrics": Rule(CATALOGUE),
    "POST /v1/rubrics": Rule(CATALOGUE),
    "POST /v1/rubrics:import": Rule(CATALOGUE),
    "GET /v1/rubrics/{key}": Rule(CATALOGUE),
    "GET /v1/rubrics/{key}/export": Rule(CATALOGUE),
    "GET /v1/rubrics/{key}/versions": Rule(CATALOGUE),
    "POST /v1/rubrics/{key}/versions": Rule(CATALOGUE),
    "GET /v1/rubrics/{key}/versions/{version}": Rule(CATALOGUE),
    "PUT /v1/rubrics/{key}/versions/{version}": Rule(CATALOGUE),
    "POST /v1/rubrics/{key}/versions/{version}/publish": Rule(CATALOGUE),
    "POST /v1/rubrics/{key}/versions/{version}/retire": Rule(CATALOGUE),
    "GET /v1/rubrics/{key}/versions/{version}/export": Rule(CATALOGUE),
    "GET /v1/people": Rule(LIST, params=({}, {"manager": A}, {"org_unit": "payments"},
                                         {"active": "true"}, {"updated_since": EPOCH})),
    "GET /v1/people/{external_id}": Rule(HIDDEN),
    "PUT /v1/people/{external_id}": Rule(REFUSED, bodies=(
        person_doc(B, display_name="Renamed by A"),)),
    "POST /v1/assessments": Rule(REFUSED, bodies=({"person": B, "cycle": "2027-H1"},)),
    "GET /v1/assessments": Rule(LIST, params=({}, {"person": B}, {"status": "finalized"},
                                              {"cycle": "2026-H2"}, {"updated_since": EPOCH},
                                              {"updated_since": EPOCH, "person": B})),
    "GET /v1/assessments/{assessment_id}": Rule(RATED),
    "PUT /v1/assessments/{assessment_id}/ratings": Rule(REFUSED, bodies=(
        {"rater_role": "self", "ratings": RATINGS},
        {"rater_role": "manager", "rater_id": A, "ratings": RATINGS})),
    "POST /v1/assessments/{assessment_id}/submit": Rule(REFUSED),
    "POST /v1/assessments/{assessment_id}/finalize": Rule(REFUSED),
    "POST /v1/assessments/{assessment_id}/supersede": Rule(REFUSED),
    "GET /v1/assessments/{assessment_id}/history": Rule(HIDDEN),
    "POST /v1/readiness:score": Rule(CATALOGUE),  # scores what it is sent; reads nothing stored
    "GET /v1/readiness/policies": Rule(CATALOGUE),
    "POST /v1/readiness/policies": Rule(CATALOGUE),
    "GET /v1/readiness/policies/{name}": Rule(CATALOGUE),
    "GET /v1/readiness/policies/{name}/versions/{version}": Rule(CATALOGUE),
    "GET /v1/assessments/{assessment_id}/readiness": Rule(HIDDEN),
    "POST /v1/assessments/{assessment_id}/readiness:simulate": Rule(HIDDEN, bodies=(SIMULATE,)),
    "GET /v1/people/{external_id}/readiness": Rule(HIDDEN),
    # stored snapshots as a change list: A's own only
    "GET /v1/readiness/reports": Rule(LIST, params=({}, {"person": B}, {"updated_since": EPOCH})),
    "GET /v1/cohorts/readiness": Rule(LIST, check=cohort_of_one, params=(
        {"format": "csv"}, {}, {"manager": A}, {"org_unit": "payments"},
        {"format": "csv", "manager": A})),
    "GET /v1/cohorts/rater-effects": Rule(UNBOUND, params=({"cycle": "2026-H2"},
                                                          {"cycle": "2026-H2", "manager": A})),
    "GET /v1/calibrations": Rule(UNBOUND),
    "POST /v1/calibrations": Rule(UNBOUND, bodies=({"cycle": "2026-H2"},
                                                   {"cycle": "2026-H2", "manager": A})),
    # 404 to a person-bound key whatever the id; no B in it, so REFUSED's 403/404 check fits.
    "GET /v1/calibrations/{calibration_id}": Rule(REFUSED),
    "POST /v1/calibrations/{calibration_id}/decisions": Rule(REFUSED, bodies=(
        {"person": B, "band": "ready_now", "reason": "x"},)),
    "POST /v1/calibrations/{calibration_id}/lock": Rule(REFUSED),
    # Fairness: one's own attributes only (others' are 404 as for no one); analyses and the
    # audit log compare people, so nothing of them for a person-bound credential.
    "GET /v1/people/{external_id}/attributes": Rule(HIDDEN),
    "PUT /v1/people/{external_id}/attributes": Rule(REFUSED, bodies=({"gender": "woman"},)),
    "DELETE /v1/people/{external_id}/attributes": Rule(REFUSED),
    "GET /v1/cohorts/adverse-impact": Rule(UNBOUND, params=(
        {"attribute": "gender"}, {"attribute": "gender,ethnicity", "manager": A})),
    "GET /v1/fairness/audit": Rule(UNBOUND, params=({}, {"format": "csv"})),
    "GET /v1/templates": Rule(CATALOGUE),
    "POST /v1/templates": Rule(CATALOGUE),
    "GET /v1/templates/{key}": Rule(CATALOGUE),
    "GET /v1/templates/{key}/versions": Rule(CATALOGUE),
    "POST /v1/templates/{key}/versions": Rule(CATALOGUE),
    "GET /v1/templates/{key}/versions/{version}": Rule(CATALOGUE),
    "PUT /v1/templates/{key}/versions/{version}": Rule(CATALOGUE),
    "POST /v1/templates/{key}/versions/{version}/publish": Rule(CATALOGUE),
    "POST /v1/templates/{key}/versions/{version}/retire": Rule(CATALOGUE),
    "POST /v1/outlines": Rule(REFUSED, bodies=(
        OUTLINE | {"person": B, "assessment_id": "{b_final}"},  # issue 12, defect 8
        OUTLINE | {"person": B},
        OUTLINE | {"person": B, "owner": A},
        OUTLINE | {"assessment_id": "{b_draft}"},  # about no one, hung on B's assessment
        OUTLINE | {"person": A, "assessment_id": "{b_final}"})),
    "GET /v1/outlines": Rule(LIST, params=({}, {"person": B}, {"assessment_id": "{b_final}"},
                                           {"template": "opportunity-outline"},
                                           {"updated_since": EPOCH, "person": B})),
    "GET /v1/outlines/{outline_id}": Rule(HIDDEN),
    "PUT /v1/outlines/{outline_id}": Rule(REFUSED, bodies=(
        OUTLINE_CONTENT | {"person": B}, OUTLINE_CONTENT | {"person": A})),
    "POST /v1/outlines/{outline_id}/status": Rule(REFUSED, bodies=({"status": "dropped"},)),
    "POST /v1/assessments/{assessment_id}/opportunities": Rule(REFUSED),
    "POST /v1/webhooks": Rule(UNBOUND, bodies=({"url": "https://hooks.example.com/a",
                                                "event_types": ["assessment.finalized"]},)),
    "GET /v1/webhooks": Rule(UNBOUND),
    "GET /v1/webhooks/{webhook_id}": Rule(UNBOUND),
    "PATCH /v1/webhooks/{webhook_id}": Rule(UNBOUND, bodies=({"active": False},)),
    "DELETE /v1/webhooks/{webhook_id}": Rule(UNBOUND),
    "GET /v1/webhooks/{webhook_id}/deliveries": Rule(UNBOUND),
    "POST /v1/webhooks/{webhook_id}/ping": Rule(UNBOUND),
    "POST /v1/bulk/assessments": Rule(UNBOUND, bodies=(ndjson(line(B)),),
                                      media="application/x-ndjson"),
    "GET /v1/jobs/{job_id}": Rule(HIDDEN),
    "GET /v1/assessments:export": Rule(LIST, params=(
        {}, {"person": B}, {"format": "ndjson"}, {"format": "ndjson", "person": B},
        {"cycle": "2026-H1"})),
    # SCIM provisioning reaches the whole directory: refused to any person-bound credential,
    # even about itself. Mounted apart (SCIM errors), listed by mounted_operations.
    "GET /scim/v2/Users": Rule(UNBOUND, params=({}, {"filter": f'externalId eq "{B}"'})),
    "POST /scim/v2/Users": Rule(UNBOUND, bodies=({"userName": "a-twin", "externalId": B},
                                                 {"userName": "new", "externalId": "PN-1"})),
    "GET /scim/v2/Users/{user_id}": Rule(UNBOUND),
    "PUT /scim/v2/Users/{user_id}": Rule(UNBOUND, bodies=(
        {"userName": "renamed-by-a", "displayName": "Renamed by A"},)),
    "PATCH /scim/v2/Users/{user_id}": Rule(UNBOUND, bodies=(
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "replace", "path": "active", "value": False}]},)),
    "DELETE /scim/v2/Users/{user_id}": Rule(UNBOUND),
    "GET /scim/v2/Groups": Rule(UNBOUND),
    "GET /scim/v2/Groups/{group_id}": Rule(UNBOUND),
    "GET /scim/v2/ServiceProviderConfig": Rule(UNBOUND),
    "GET /scim/v2/ResourceTypes": Rule(UNBOUND),
    "GET /scim/v2/Schemas": Rule(UNBOUND),
}

# Which of B's (and M's) things fill each path parameter; "unseen" ones are things A has no
# business knowing exist, so their 404 must read exactly as one for a made-up id.
B_IDS = {"external_id": ("B", "M"), "assessment_id": ("b_final", "b_draft", "b_hidden"),
         "outline_id": ("b_outline",), "job_id": ("job",), "user_id": ("b_person",)}
UNSEEN = {"B", "M", "b_hidden", "b_outline", "job", "b_person"}
UNKNOWN = {"external_id": UNKNOWN_PERSON}
PLACEHOLDERS = {"key": "product-leadership", "version": "1", "name": "progress",
                "webhook_id": UNKNOWN_ID, "key_id": "1", "calibration_id": UNKNOWN_ID,
                "group_id": UNKNOWN_ID}


def _fill(value: Any, world: World) -> Any:
    """A body or parameter with ``{name}`` placeholders replaced by the arrangement's ids."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return world[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@dataclass
class Call:
    method: str
    template: str
    path: str
    names: dict[str, str] = field(default_factory=dict)  # path parameter -> arrangement name


def calls(app, world: World) -> list[Call]:
    """Every operation with its path parameters filled with each of B's ids (placeholders
    for parameters that name no one's data)."""
    out = []
    for method, template, op in templated_operations(app) + mounted_operations(app):
        choices = []
        for param in (p["name"] for p in op.get("parameters", []) if p["in"] == "path"):
            if param in B_IDS:
                choices.append([(param, name, world[name]) for name in B_IDS[param]])
            else:
                choices.append([(param, None, PLACEHOLDERS[param])])
        for combination in itertools.product(*choices):
            path = template
            for param, _, value in combination:
                path = path.replace("{" + param + "}", value)
            out.append(Call(method, template, path,
                            {param: name for param, name, _ in combination if name}))
    return out


async def send(client, call: Call, rule: Rule, body: Any, params: dict[str, str],
               world: World):
    headers = {"Idempotency-Key": f"matrix-{uuid.uuid4()}", "If-Match": "*"}
    kwargs: dict[str, Any] = {"params": {k: _fill(v, world) for k, v in params.items()},
                              "headers": headers}
    if isinstance(body, bytes):
        kwargs["content"], headers["Content-Type"] = body, rule.media
    elif body is not None:
        kwargs["json"] = _fill(body, world)
    return await client.request(call.method, call.path, **kwargs)


def _same_problem(seen, unknown, call: Call, world: World) -> None:
    """A 404 about something unseen reads like one about nothing at all."""
    assert seen.status_code == unknown.status_code == 404, (call.path, seen.text, unknown.text)
    left, right = seen.json(), unknown.json()
    for name in call.names.values():
        left["detail"] = left["detail"].replace(world[name], "<id>")
    for value in set(UNKNOWN.values()) | {UNKNOWN_ID}:
        right["detail"] = right["detail"].replace(value, "<id>")
    assert {k: left.get(k) for k in ("type", "title", "code", "detail")} == \
        {k: right.get(k) for k in ("type", "title", "code", "detail")}, (call.path, left, right)


def _unknown_path(call: Call) -> str:
    path = call.template
    for param in call.names:
        path = path.replace("{" + param + "}", UNKNOWN.get(param, UNKNOWN_ID))
    for param, value in PLACEHOLDERS.items():
        path = path.replace("{" + param + "}", value)
    return path


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    """The shared app, able to verify JWTs too (the principal is a key or a portal token)."""
    return jwt_settings(db_url, tmp_path, SIGNER)


@pytest.fixture(params=["api-key", "jwt"])
def credential_of_a(request, make_key) -> str:
    if request.param == "api-key":
        return make_key(*EVERY_SCOPE_BUT_ADMIN, person=A, name="bound-to-a")
    return SIGNER.token(sub=A, scope=" ".join(EVERY_SCOPE_BUT_ADMIN))


@pytest.fixture
async def world(app, admin, engine) -> World:
    return await arrange(app, admin, engine)


# --- the REST matrix ------------------------------------------------------------------------

def test_every_rest_operation_has_a_rule(app):
    found = {f"{method} {path}" for method, path, _ in
             templated_operations(app) + mounted_operations(app)}
    assert found - set(RULES) == set(), "operations without a rule: decide one in RULES"
    assert set(RULES) - found == set(), "rules for operations that no longer exist"
    assert len(found) >= 60  # the walk really walked


async def test_rest_a_person_bound_principal_never_reaches_another_persons_data(
        app, admin, world, client_with, credential_of_a):
    before = await snapshot(admin, world)
    checked: dict[str, int] = {}
    async with client_with(credential_of_a) as me:
        for call in calls(app, world):
            rule = RULES[f"{call.method} {call.template}"]
            if rule.kind == PUBLIC:
                continue
            for body, params in itertools.product(rule.bodies, rule.params):
                response = await send(me, call, rule, body, params, world)
                where = (call.method, call.path, body, params, response.status_code,
                         response.text[:300])
                assert response.status_code < 500, where
                checked[rule.kind] = checked.get(rule.kind, 0) + 1
                ok = response.status_code < 300
                if ok:  # whatever it answered, nothing of B's: not even B's id in a list
                    weak_allowed = rule.kind == RATED
                    assert not world.leaked(response.text, weak=not weak_allowed), where
                if rule.kind in (ADMIN_ONLY, UNBOUND):
                    assert response.status_code == 403, where
                elif rule.kind == HIDDEN:
                    assert response.status_code == 404, where
                    if set(call.names.values()) <= UNSEEN:
                        unknown = await send(me, Call(call.method, call.template,
                                                      _unknown_path(call)), rule, body,
                                             params, world)
                        _same_problem(response, unknown, call, world)
                elif rule.kind == RATED:
                    if set(call.names.values()) & UNSEEN:
                        assert response.status_code == 404, where
                    else:  # one A rated in: A's own ratings only
                        assert response.status_code in (200, 404), where
                        if ok:
                            raters = {r["rater_id"] for r in response.json()["ratings"]}
                            assert raters == {A}, where
                elif rule.kind == REFUSED:
                    assert response.status_code in (403, 404), where
                elif rule.kind == LIST:
                    assert response.status_code == 200, where
                    assert rule.check is None or rule.check(response), where
    assert await snapshot(admin, world) == before  # no write of A's touched B's data
    assert {HIDDEN, RATED, REFUSED, LIST, UNBOUND, ADMIN_ONLY, CATALOGUE} <= set(checked)


async def test_rest_controls_an_admin_does_reach_bs_data(app, admin, world):
    """The matrix's reads are about B: made by an admin, each operation finds B's data."""
    reached: dict[str, bool] = {}
    for call in calls(app, world):
        operation = f"{call.method} {call.template}"
        rule = RULES[operation]
        if rule.kind not in (HIDDEN, RATED, LIST) or call.method != "GET":
            continue
        response = await send(admin, call, rule, None, rule.params[0], world)
        assert response.status_code in (200, 404), (call.path, response.text)
        reached[operation] = reached.get(operation, False) or (
            response.status_code == 200 and bool(world.leaked(response.text)))
    assert reached and all(reached.values()), reached


# --- GraphQL: one rule per root field and per field returning someone's data -----------------

SENSITIVE = {"Person", "Assessment", "ReadinessReport", "Outline", "Rating", "Job",
             "Calibration", "CalibrationPerson", "CalibratedBand"}
VARIABLES = ("a", "b", "m", "bFinal", "bDraft", "bHidden", "bOutline")


@dataclass(frozen=True)
class Case:
    document: str
    mutation: bool = False
    weak_allowed: bool = False  # about an assessment A rated in: it may name it and B
    check: Any = None  # on A's data: what A does see (its own, or nothing)
    control: bool = True  # an admin's answer to the same document shows B's data


def _people_only_a(data) -> bool:
    return [e["node"]["externalId"] for e in data["all"]["edges"]] == [A] \
        and [n["externalId"] for n in data["all"]["nodes"]] == [A] \
        and data["reportsOfA"]["nodes"] == [] \
        and [n["externalId"] for n in data["changed"]["nodes"]] == [A]


def _only_own_ratings(data) -> bool:
    return data["assessment"] is not None \
        and {r["raterId"] for r in data["assessment"]["ratings"]} == {A}


PEOPLE = Case("""query($a: String!) {
    all: people(first: 500) { edges { node { externalId email displayName } }
                              nodes { externalId email } }
    reportsOfA: people(filter: {manager: $a}) { nodes { externalId email displayName } }
    changed: people(filter: {updatedSince: "1970-01-01T00:00:00Z"}) {
      nodes { externalId email } } }""",
              check=_people_only_a)
PERSON_B = Case("""query($b: String!, $m: String!) {
    b: person(externalId: $b) { externalId email displayName manager { email }
      reports { email } assessments { id } readiness { inputsDigest } outlines { id title } }
    m: person(externalId: $m) { email displayName } }""",
                check=lambda d: d == {"b": None, "m": None})
# A's own record, walked to everyone it is linked to: M (its manager), B (its report).
RELATIVES = Case("""query($a: String!) {
    person(externalId: $a) { externalId manager { email displayName reports { email } }
      reports { externalId email displayName assessments { id ratings { evidence } } } } }""",
                 check=lambda d: d["person"] == {"externalId": A, "manager": None,
                                                 "reports": []})
OWN = Case("""query($a: String!) {
    person(externalId: $a) { assessments { id person ratings { raterId evidence }
      subject { externalId } readiness { inputsDigest } opportunities { id title } }
      readiness { inputsDigest } outlines { id title person } } }""",
           check=lambda d: [x["person"] for x in d["person"]["assessments"]] == [A]
           and all(o["person"] == A for o in d["person"]["outlines"]), control=False)
RATED_IN = Case("""query($bFinal: UUID!, $bDraft: UUID!) {
    assessment(id: $bFinal) { id person ratings { raterRole raterId evidence }
      subject { externalId email displayName } readiness { inputsDigest }
      opportunities { id title } }
    draft: assessment(id: $bDraft) { id ratings { raterId evidence }
      readiness(targetLevel: "lead-pm") { inputsDigest } subject { email } } }""",
                weak_allowed=True,
                check=lambda d: _only_own_ratings(d) and d["assessment"]["subject"] is None
                and d["assessment"]["readiness"] is None
                and d["assessment"]["opportunities"] == []
                and d["draft"]["subject"] is None and d["draft"]["readiness"] is None)
UNSEEN_ASSESSMENT = Case("""query($bHidden: UUID!) {
    assessment(id: $bHidden) { id ratings { evidence } subject { email } } }""",
                         check=lambda d: d == {"assessment": None})
OUTLINE_B = Case("""query($bOutline: UUID!) { outline(id: $bOutline) { id title person } }""",
                 check=lambda d: d == {"outline": None})
COHORT = Case("""{ cohortReadiness { people } }""",
              check=lambda d: d["cohortReadiness"]["people"] <= 1, control=False)
# Calibrations: nothing of them for a person-bound credential, not even about itself (as
# REST: 403 on the list, 404 on a session, no calibrated band on its own reports). The world
# has no calibration session, so there is no admin control here; test_rater_adjustment.py
# checks a locked session over GraphQL for both kinds of credential.
CALIBRATIONS = Case("""{ calibrations { id people { person score band adjustedScore
    calibratedBand } } }""", check=lambda d: d == {"calibrations": None}, control=False)
CALIBRATION = Case(f"""{{ calibration(id: "{UNKNOWN_ID}") {{ id fitId
    people {{ person score band }} }} }}""",
                   check=lambda d: d == {"calibration": None}, control=False)
OWN_CALIBRATED = Case("""query($a: String!) {
    person(externalId: $a) { calibratedBand { band calibrationId } } }""",
                      check=lambda d: d["person"]["calibratedBand"] is None, control=False)
CATALOGUE_Q = Case("""{ rubrics { nodes { key } } rubric(key: "product-leadership") { key }
    templates { nodes { key } } template(key: "opportunity-outline") { key } }""",
                   control=False)
SIMULATE_Q = Case("""mutation($bFinal: UUID!, $bDraft: UUID!) {
    final: simulateReadiness(assessmentId: $bFinal, changes: [
      {competency: "strategy", raterRole: manager, raterId: "PA-1001", proficiency: 6}]) {
      report { inputsDigest } baseline { inputsDigest } }
    draft: simulateReadiness(assessmentId: $bDraft, changes: [
      {competency: "execution", raterRole: self, proficiency: 6}]) {
      report { inputsDigest } baseline { inputsDigest } } }""", mutation=True)
UPSERT = Case("""mutation($b: String!) {
    upsertPerson(externalId: $b, input: {displayName: "Renamed by A"}) {
      person { externalId email } } }""", mutation=True)
CREATE = Case("""mutation($b: String!) {
    createAssessment(input: {person: $b, cycle: "2027-H1"}) { id subject { email } } }""",
              mutation=True)
RATE = Case("""mutation($bDraft: UUID!, $bHidden: UUID!) {
    self: setRatings(id: $bDraft, ifMatch: "*", input: {raterRole: self, ratings: [
      {competency: "strategy", proficiency: 6}]}) { id ratings { evidence } }
    manager: setRatings(id: $bDraft, ifMatch: "*", input: {raterRole: manager,
      raterId: "PA-1001", ratings: [{competency: "strategy", proficiency: 6}]}) { id }
    hidden: setRatings(id: $bHidden, ifMatch: "*", input: {raterRole: self, ratings: []}) {
      id } }""", mutation=True)
SUBMIT = Case("""mutation($bDraft: UUID!, $bHidden: UUID!) {
    draft: submitAssessment(id: $bDraft) { id } hidden: submitAssessment(id: $bHidden) { id }
    }""", mutation=True)
FINALIZE = Case("""mutation($bDraft: UUID!, $bHidden: UUID!) {
    draft: finalizeAssessment(id: $bDraft) { id }
    hidden: finalizeAssessment(id: $bHidden) { id } }""", mutation=True)
WRITE_OUTLINE = Case("""mutation($b: String!, $a: String!, $bFinal: UUID!, $bDraft: UUID!) {
    about: createOutline(input: {template: {key: "opportunity-outline"}, title: "t",
      values: {problem: "p", desired_outcome: "o", quadrant: "organisational_debt"},
      person: $b, assessmentId: $bFinal}) { id person }
    owned: createOutline(input: {template: {key: "opportunity-outline"}, title: "t",
      values: {problem: "p", desired_outcome: "o", quadrant: "organisational_debt"},
      person: $b, owner: $a}) { id }
    hung: createOutline(input: {template: {key: "opportunity-outline"}, title: "t",
      values: {problem: "p", desired_outcome: "o", quadrant: "organisational_debt"},
      assessmentId: $bDraft}) { id } }""", mutation=True)

GQL_RULES: dict[str, Case] = {
    # root queries
    "Query.rubrics": CATALOGUE_Q, "Query.rubric": CATALOGUE_Q,
    "Query.templates": CATALOGUE_Q, "Query.template": CATALOGUE_Q,
    "Query.people": PEOPLE, "Query.person": PERSON_B,
    "Query.assessment": UNSEEN_ASSESSMENT, "Query.outline": OUTLINE_B,
    "Query.cohortReadiness": COHORT,
    "Query.calibrations": CALIBRATIONS, "Query.calibration": CALIBRATION,
    # root mutations
    "Mutation.upsertPerson": UPSERT, "Mutation.createAssessment": CREATE,
    "Mutation.setRatings": RATE, "Mutation.submitAssessment": SUBMIT,
    "Mutation.finalizeAssessment": FINALIZE, "Mutation.createOutline": WRITE_OUTLINE,
    "Mutation.simulateReadiness": SIMULATE_Q,
    # fields returning someone's data
    "PersonEdge.node": PEOPLE, "PersonConnection.nodes": PEOPLE,
    "Person.manager": RELATIVES, "Person.reports": RELATIVES,
    "Person.assessments": OWN, "Person.readiness": OWN, "Person.outlines": OWN,
    "Person.calibratedBand": OWN_CALIBRATED, "Calibration.people": CALIBRATIONS,
    "Assessment.subject": RATED_IN, "Assessment.ratings": RATED_IN,
    "Assessment.readiness": RATED_IN, "Assessment.opportunities": RATED_IN,
    "Simulation.report": SIMULATE_Q, "Simulation.baseline": SIMULATE_Q,
    "UpsertPersonResult.person": UPSERT,
}
# The same fields reached from B's side, where they must come back empty too.
EXTRA_CASES = (PERSON_B, RATED_IN)


def sensitive_fields() -> set[str]:
    """Every root field, and every field whose type (unwrapped) is someone's data."""
    from graphql import get_named_type

    schema = build_schema(True)._schema
    roots = {schema.query_type.name, schema.mutation_type.name}
    out = set()
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field_ in type_.fields.items():
            if type_.name in roots or get_named_type(field_.type).name in SENSITIVE:
                out.add(f"{type_.name}.{name}")
    return out


def test_every_graphql_field_with_someones_data_has_a_rule():
    found = sensitive_fields()
    assert found - set(GQL_RULES) == set(), "fields without a rule: decide one in GQL_RULES"
    assert set(GQL_RULES) - found == set(), "rules for fields that no longer exist"
    assert {"Person.manager", "Assessment.subject", "PersonEdge.node"} <= found


def _variables(world: World) -> dict[str, str]:
    names = {"a": "A", "b": "B", "m": "M", "bFinal": "b_final", "bDraft": "b_draft",
             "bHidden": "b_hidden", "bOutline": "b_outline"}
    return {variable: world[names[variable]] for variable in VARIABLES}


def _cases() -> list[Case]:
    return list({id(c): c for c in (*GQL_RULES.values(), *EXTRA_CASES)}.values())


async def test_graphql_a_person_bound_principal_never_reaches_another_persons_data(
        admin, world, client_with, credential_of_a):
    before = await snapshot(admin, world)
    variables = _variables(world)
    async with client_with(credential_of_a) as me:
        for case in _cases():
            answer = await gql(me, case.document, variables)
            where = (case.document[:120], answer)
            assert set(codes(answer)) <= {"NOT_FOUND", "FORBIDDEN"}, where
            data = answer["data"] or {}
            assert not world.leaked(json.dumps(data), weak=not case.weak_allowed), where
            if case.mutation:  # every write about B refused, each with its error
                assert data and all(value is None for value in data.values()), where
                assert len(answer["errors"]) == len(data), where
            if case.check is not None:
                assert case.check(data), where
    assert await snapshot(admin, world) == before


async def test_graphql_controls_an_admin_does_reach_bs_data(admin, world):
    """The same documents, asked by an admin, find B's data: they do reach it."""
    variables = _variables(world)
    for case in _cases():
        if not case.control or case.mutation:
            continue
        answer = await gql(admin, case.document, variables)
        assert world.leaked(json.dumps(answer["data"]), weak=False), answer
