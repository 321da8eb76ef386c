"""Outlines over HTTP: values checked against the pinned template version (every rule, with
the field key in the path), rendering, status transitions, ETags, idempotency, filters, and
who may see what."""

import pytest

from tests.factories.assessments import create_assessment
from tests.factories.outlines import (
    create_outline,
    create_template,
    load_defaults,
    opportunity,
)
from tests.factories.people import sync_person
from tests.factories.rubrics import create_rubric

pytestmark = pytest.mark.anyio


def fields(response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


@pytest.fixture
async def defaults(engine, db_url):
    """The default rubric and templates, loaded as `ascent load-defaults` does."""
    return load_defaults(engine)


@pytest.fixture
async def growth(admin):
    """The test template (one field of each type) over the small test rubric, and a person."""
    await create_rubric(admin)
    await create_template(admin)
    await sync_person(admin, "M1", rubric=None, level=None)


def growth_body(**values):
    return {"template": {"key": "growth-plan", "version": 1}, "title": "Plan",
            "values": {"summary": "Grow", "quadrant": "improve_products", **values}}


async def test_create_and_read_an_opportunity_outline(admin, defaults):
    body = opportunity(target_measure="days from proposal to decision", target_value="5",
                       target_date="2026-12-31", leadership_dimensions=["value", "time"],
                       first_experiments=["weekly decision forum"])
    created = await admin.post("/v1/outlines", json=body)
    assert created.status_code == 201, created.text
    outline = created.json()
    assert created.headers["location"] == f"/v1/outlines/{outline['id']}"
    assert outline["template"] == {"key": "opportunity-outline", "version": 1}
    assert outline["status"] == "draft" and outline["values"] == body["values"]
    assert outline["created_by"].startswith("key:")
    got = await admin.get(f"/v1/outlines/{outline['id']}")
    assert got.status_code == 200 and got.json() == outline
    assert got.headers["etag"] == created.headers["etag"]


# Each value rule, on the test template: (values to merge, expected error paths).
VALUE_RULES = [
    ("missing required", {"summary": None, "quadrant": "  "},
     {"values.summary", "values.quadrant"}),
    ("text wrong type", {"summary": 5}, {"values.summary"}),
    ("text too long", {"summary": "x" * 41}, {"values.summary"}),
    ("markdown wrong type", {"notes": {"a": 1}}, {"values.notes"}),
    ("unknown enum option", {"quadrant": "organisational_debt"}, {"values.quadrant"}),
    ("date not a date", {"due": "31/12/2026"}, {"values.due"}),
    ("date not on the calendar", {"due": "2026-02-30"}, {"values.due"}),
    ("integer wrong type", {"months": "12"}, {"values.months"}),
    ("integer boolean", {"months": True}, {"values.months"}),
    ("integer below min", {"months": 11}, {"values.months"}),
    ("integer above max", {"months": 19}, {"values.months"}),
    ("list wrong type", {"steps": "one"}, {"values.steps"}),
    ("list too many items", {"steps": ["a", "b", "c", "d"]}, {"values.steps"}),
    ("list item wrong type and too long", {"steps": ["ok", 3, "y" * 21]},
     {"values.steps[1]", "values.steps[2]"}),
    ("unknown competency", {"skills": ["delivery", "juggling"]}, {"values.skills[1]"}),
    ("multiple needs a list", {"skills": "delivery"}, {"values.skills"}),
    ("unknown level", {"goal": "staff"}, {"values.goal"}),
    ("unknown person", {"mentor": "NOBODY"}, {"values.mentor"}),
    ("unknown field key", {"colour": "blue"}, {"values.colour"}),
]


@pytest.mark.parametrize(("rule", "values", "expected"), VALUE_RULES,
                         ids=[r[0] for r in VALUE_RULES])
async def test_each_value_rule_names_the_field(admin, growth, rule, values, expected):
    response = await admin.post("/v1/outlines", json=growth_body(**values))
    assert response.status_code == 422, rule
    assert response.headers["content-type"] == "application/problem+json"
    assert fields(response) == expected
    assert (await admin.get("/v1/outlines")).json()["data"] == []  # nothing stored


async def test_every_violation_is_reported_at_once(admin, growth):
    body = growth_body(summary=None, quadrant="nope", months=40, due="soon", steps=[1],
                       skills=["juggling"], goal="staff", mentor="NOBODY", colour="blue")
    body |= {"person": "GHOST", "owner": "M1"}
    response = await admin.post("/v1/outlines", json=body)
    assert response.status_code == 422
    assert fields(response) == {
        "values.summary", "values.quadrant", "values.months", "values.due", "values.steps[0]",
        "values.skills[0]", "values.goal", "values.mentor", "values.colour", "person"}


async def test_valid_values_of_every_type_are_stored_clean(admin, growth):
    body = growth_body(notes="**bold**", due="2026-06-30", months=12, steps=["a", "b"],
                       skills=["delivery", "craft", "delivery"], goal="senior", mentor="M1")
    created = await create_outline(admin, body | {"competencies": ["craft"]})
    assert created["values"]["skills"] == ["delivery", "craft"]  # a reference counts once
    assert created["values"]["months"] == 12 and created["values"]["mentor"] == "M1"
    assert created["competencies"] == ["craft", "delivery"]  # links + competency values
    cleared = await create_outline(admin, growth_body(notes="", steps=[]))
    assert set(cleared["values"]) == {"summary", "quadrant"}  # empty optional values dropped


async def test_template_reference_must_be_a_published_version(admin, growth):
    unknown = await admin.post("/v1/outlines", json=growth_body() | {
        "template": {"key": "nope"}})
    assert unknown.status_code == 422 and fields(unknown) == {"template.key"}
    missing = await admin.post("/v1/outlines", json=growth_body() | {
        "template": {"key": "growth-plan", "version": 7}})
    assert missing.status_code == 422 and fields(missing) == {"template.version"}

    await admin.post("/v1/templates/growth-plan/versions")  # version 2, a draft
    draft = await admin.post("/v1/outlines", json=growth_body() | {
        "template": {"key": "growth-plan", "version": 2}})
    assert draft.status_code == 422 and fields(draft) == {"template.version"}
    await admin.post("/v1/templates/growth-plan/versions/1/retire")
    retired = await admin.post("/v1/outlines", json=growth_body())
    assert retired.status_code == 422 and "retired" in retired.json()["errors"][0]["message"]


async def test_render_markdown_and_html_with_script_inert(admin, defaults):
    attack = "<script>alert('x')</script>"
    body = opportunity(problem=f"Slow **decisions** {attack}", who_is_affected="Team *A*",
                       target_measure=f"lead time {attack}", target_value="*5* days",
                       target_date="2026-12-31", leadership_dimensions=["value"],
                       first_experiments=["# try <b>this</b>"])
    body["title"] = f"Decide faster {attack}"
    outline = await create_outline(admin, body)
    url = f"/v1/outlines/{outline['id']}"

    md = await admin.get(url, params={"format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.headers["etag"] == (await admin.get(url)).headers["etag"]
    text = md.text
    assert "<script" not in text and "<b>" not in text
    assert text.startswith("# Decide faster &lt;script>alert('x')&lt;/script>\n")
    assert "- **Template:** Opportunity outline (opportunity-outline v1)" in text
    assert "## Problem or opportunity\n\nSlow **decisions** &lt;script>" in text
    assert "## Target condition\n\n### Measure\n\nlead time &lt;script>" in text
    assert "### By when\n\n2026-12-31" in text
    assert "## Prioritisation quadrant\n\nOrganisational debt" in text
    assert "## First experiments\n\n- \\# try &lt;b>this&lt;/b>" in text
    assert "### Target\n\n\\*5\\* days" in text  # plain text shows as typed
    assert "Solution outline" not in text  # empty fields are left out

    page = await admin.get(url, params={"format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    html = page.text
    assert "<script" not in html and "<b>" not in html
    assert "<title>Decide faster &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</title>" in html
    assert "<p>Slow <strong>decisions</strong> &lt;script&gt;" in html  # markdown rendered
    assert "<section><h2>Target condition</h2>\n<h3>Measure</h3>" in html
    assert "<li># try &lt;b&gt;this&lt;/b&gt;</li>" in html
    assert "<h2>Prioritisation quadrant</h2><p>Organisational debt</p>" in html

    as_json = await admin.get(url, params={"format": "json"})
    assert as_json.json()["title"] == body["title"]
    bad = await admin.get(url, params={"format": "pdf"})
    assert bad.status_code == 422 and fields(bad) == {"query.format"}


async def test_status_transitions(admin, defaults):
    created = await admin.post("/v1/outlines", json=opportunity())
    url, first_etag = f"/v1/outlines/{created.json()['id']}", created.headers["etag"]

    async def move(status):
        return await admin.post(f"{url}/status", json={"status": status})

    refused = await move("done")  # a draft cannot be done before it was active
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "draft"
    assert refused.json()["allowed"] == ["active", "dropped"]
    assert (await move("active")).json()["status"] == "active"
    assert (await move("draft")).status_code == 409
    done = await move("done")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert (await move("done")).json()["status"] == "done"  # asking again changes nothing

    edit = await admin.put(url, json={"title": "x", "values": created.json()["values"]},
                           headers={"If-Match": done.headers["etag"]})
    assert edit.status_code == 409  # closed outlines are reopened before editing
    assert (await move("active")).status_code == 200  # reopen
    assert (await move("dropped")).status_code == 200
    assert (await move("active")).status_code == 409
    revived = await move("draft")
    assert revived.json()["status"] == "draft"
    assert (await move("archived")).status_code == 422

    stale = await admin.post(f"{url}/status", json={"status": "active"},
                             headers={"If-Match": first_etag})
    assert stale.status_code == 412
    assert (await admin.get(url)).json()["status"] == "draft"


async def test_update_needs_if_match_and_revalidates(admin, defaults):
    created = await admin.post("/v1/outlines", json=opportunity())
    url, etag = f"/v1/outlines/{created.json()['id']}", created.headers["etag"]
    change = {"title": "Renamed", "values": opportunity(quadrant="improve_products")["values"]}

    assert (await admin.put(url, json=change)).status_code == 428
    assert (await admin.put(url, json=change, headers={"If-Match": '"x.1"'})).status_code == 412
    bad = await admin.put(url, json=change | {"values": {"quadrant": "elsewhere"}},
                          headers={"If-Match": etag})
    assert bad.status_code == 422
    assert fields(bad) == {"values.problem", "values.desired_outcome", "values.quadrant"}
    assert (await admin.get(url)).json()["title"] == "Shorten decision time"  # untouched

    ok = await admin.put(url, json=change, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.json()["title"] == "Renamed"
    assert ok.json()["values"]["quadrant"] == "improve_products"
    assert ok.headers["etag"] != etag
    again = await admin.put(url, json=change, headers={"If-Match": etag})
    assert again.status_code == 412


async def test_idempotent_create(admin, defaults):
    headers = {"Idempotency-Key": "outline-1"}
    first = await admin.post("/v1/outlines", json=opportunity(), headers=headers)
    replay = await admin.post("/v1/outlines", json=opportunity(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == first.headers["location"]
    other = await admin.post("/v1/outlines", json=opportunity(problem="else"), headers=headers)
    assert other.status_code == 422 and fields(other) == {"header.Idempotency-Key"}
    assert len((await admin.get("/v1/outlines")).json()["data"]) == 1


async def test_list_filters_and_pagination(admin, defaults):
    await sync_person(admin, "E1")
    a = await create_outline(admin, opportunity() | {"person": "E1"})
    b = await create_outline(admin, opportunity(quadrant="improve_products"))
    tour = await create_outline(admin, {
        "template": {"key": "tour-of-duty"}, "title": "Tour", "person": "E1",
        "values": {"career_goal": "lead-pm", "duration_months": 12, "kind_of_work": "growth",
                   "skills_to_gain": ["strategy", "developing-people"]}})
    await admin.post(f"/v1/outlines/{b['id']}/status", json={"status": "active"})

    async def ids(**params):
        response = await admin.get("/v1/outlines", params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["data"]]

    assert await ids() == [tour["id"], b["id"], a["id"]]  # newest first
    assert await ids(template="opportunity-outline") == [b["id"], a["id"]]
    assert await ids(person="E1") == [tour["id"], a["id"]]
    assert await ids(status="active") == [b["id"]]
    assert await ids(quadrant="organisational_debt") == [a["id"]]
    assert await ids(competency="strategy") == [tour["id"]]
    assert await ids(competency="strategy", person="E2") == []

    first = await admin.get("/v1/outlines", params={"limit": 2})
    assert [o["id"] for o in first.json()["data"]] == [tour["id"], b["id"]]
    assert 'rel="next"' in first.headers["link"]
    rest = await ids(limit=2, cursor=first.json()["next_cursor"])
    assert rest == [a["id"]]
    bad = await admin.get("/v1/outlines", params={"cursor": "WyJ4Il0"})  # ["x"]
    assert bad.status_code == 422 and fields(bad) == {"query.cursor"}


async def test_links_to_person_assessment_and_competencies(admin, defaults):
    assessment = await create_assessment(admin, "E123")
    body = opportunity() | {"person": "E123", "assessment_id": assessment["id"],
                            "competencies": ["strategy", "nonsense"]}
    wrong = await admin.post("/v1/outlines", json=body)
    assert wrong.status_code == 422 and fields(wrong) == {"competencies[1]"}

    await sync_person(admin, "E9")
    other_person = await admin.post("/v1/outlines", json=body | {
        "person": "E9", "competencies": ["strategy"]})
    assert other_person.status_code == 422 and fields(other_person) == {"assessment_id"}
    unknown = await admin.post("/v1/outlines", json=body | {
        "assessment_id": "00000000-0000-0000-0000-000000000001", "competencies": []})
    assert unknown.status_code == 422 and fields(unknown) == {"assessment_id"}

    linked = await create_outline(admin, body | {"competencies": ["strategy"]})
    assert linked["assessment_id"] == assessment["id"] and linked["person"] == "E123"
    assert linked["competencies"] == ["strategy"] and linked["owner"] == "E123"
    found = await admin.get("/v1/outlines", params={"assessment_id": assessment["id"]})
    assert [o["id"] for o in found.json()["data"]] == [linked["id"]]


async def test_person_bound_keys_manage_only_their_own_outlines(admin, defaults, make_key,
                                                                client_with):
    await sync_person(admin, "E1")
    await sync_person(admin, "E2")
    theirs = await create_outline(admin, opportunity() | {"person": "E2"})
    async with client_with(make_key("outlines:read", "outlines:write", person="E1")) as me:
        mine = await create_outline(me, opportunity())
        assert mine["owner"] == "E1" and mine["person"] is None
        about_me = await create_outline(me, opportunity() | {"person": "E1"})

        listed = (await me.get("/v1/outlines")).json()["data"]
        assert {o["id"] for o in listed} == {mine["id"], about_me["id"]}
        assert (await me.get(f"/v1/outlines/{theirs['id']}")).status_code == 404
        moved = await me.post(f"/v1/outlines/{theirs['id']}/status", json={"status": "active"})
        assert moved.status_code == 404

        for_other = await me.post("/v1/outlines", json=opportunity() | {
            "person": "E2", "owner": "E2"})
        assert for_other.status_code == 403
        etag = (await me.get(f"/v1/outlines/{mine['id']}")).headers["etag"]
        give_away = await me.put(f"/v1/outlines/{mine['id']}", headers={"If-Match": etag},
                                 json={"title": "t", "values": mine["values"], "owner": "E2"})
        assert give_away.status_code == 403
    assert len((await admin.get("/v1/outlines")).json()["data"]) == 3  # admins see everything


async def test_unknown_outline_is_404(admin, defaults):
    missing = await admin.get("/v1/outlines/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await admin.get("/v1/outlines/not-a-uuid")).status_code == 422
