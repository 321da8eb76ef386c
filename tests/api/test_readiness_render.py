"""Readiness as SVG charts and an HTML report over HTTP (both backends): media types, strict
CSP, frame-ancestors from the setting, escaping of what people typed, who may see what."""

import re

import httpx
import pytest
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings
from tests.api.test_cohorts import PM_BAR, SENIOR_BAR, assess
from tests.factories.assessments import create_assessment, rate
from tests.factories.people import sync_person
from tests.factories.rubrics import load_default_rubric
from tests.render_checks import SVG, axes, check_html, parse_svg, style_hash, svg_text

pytestmark = pytest.mark.anyio

HOSTILE_NAME = '<script>document.title="owned"</script>Ada'
HOSTILE_EVIDENCE = '<img src=x onerror="window.owned=1">Shipped checkout & more'


@pytest.fixture
async def assessed(admin, engine):
    """E123 (a PM aiming for senior PM) with a hostile display name, rated by self, their
    manager (named) and two peers (never named), with hostile evidence."""
    await load_default_rubric(engine)
    for person, name in (("E001", "Grace Manager"), ("P7", "Peter Peer"), ("P8", "Paula Peer"),
                         ("E123", HOSTILE_NAME)):
        await sync_person(admin, person, display_name=name)
    aid = (await create_assessment(admin, "E123", sync=False))["id"]
    items = [{"competency": k, "proficiency": v, "evidence": HOSTILE_EVIDENCE}
             for k, v in SENIOR_BAR.items() if k != "self-leadership"]
    assert (await rate(admin, aid, "manager", "E001", items)).status_code == 200
    assert (await rate(admin, aid, "self", "E123", items[:3])).status_code == 200
    for n, peer in enumerate(("P7", "P8")):
        peer_items = [{"competency": "execution", "proficiency": 4,
                       "evidence": f"a peer's view, number {n}"}]
        assert (await rate(admin, aid, "peer", peer, peer_items)).status_code == 200
    return aid


async def test_radar_svg_of_an_assessment(admin, assessed):
    response = await admin.get(f"/v1/assessments/{assessed}/readiness", params={"format": "svg"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert "frame-ancestors 'none'" in csp and "unsafe" not in csp
    root = parse_svg(response.content)
    style = root.find(SVG + "style")
    assert style_hash(style.text) in csp  # the CSP admits exactly the chart's stylesheet
    report = (await admin.get(f"/v1/assessments/{assessed}/readiness")).json()
    drawn = axes(root)
    assert [a.get("data-competency") for a in drawn] == [c["key"] for c in report["competencies"]]
    assert "Self-leadership" in svg_text(root) and "unrated" in svg_text(root)
    # The unrated competency has an axis but no observed point: a gap, not a zero.
    unrated = next(a for a in drawn if a.get("data-competency") == "self-leadership")
    assert not [c for c in unrated.iter(SVG + "circle") if "observed-dot" in c.get("class")]


async def test_html_report_is_escaped_self_contained_and_strict(admin, assessed):
    response = await admin.get(f"/v1/assessments/{assessed}/readiness",
                               params={"format": "html"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    parsed = check_html(response.text)
    assert csp == (f"default-src 'none'; style-src {style_hash(parsed.styles[0])}; "
                   "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    assert "<script" not in page and "<img" not in page  # as text only (check_html: no tags)
    assert "&lt;script&gt;document.title=&#34;owned&#34;&lt;/script&gt;Ada" in page
    assert "Shipped checkout &amp; more" in page
    # Who rated: the manager by name, peers by role and count only.
    assert "Grace Manager" in page
    assert "a peer's view, number 1" in page.replace("&#39;", "'")
    assert not re.search(r"P7|P8|Peter Peer|Paula Peer", page)
    assert re.search(r"<th scope=\"row\">Peers</th><td class=\"num\">2</td>", page)
    for heading in ("Summary", "Competencies", "Top gaps", "Path to ready", "Gates", "Unrated",
                    "Who rated", "Evidence", "What produced this report"):
        assert re.search(rf"<h2 id=\"h-[a-z]+\">{heading}", page), heading
    report = (await admin.get(f"/v1/assessments/{assessed}/readiness")).json()
    assert report["inputs_digest"] in page and "product-leadership version 2" in page


async def test_person_bound_key_reads_its_own_report_without_peer_ids(
        admin, assessed, client_with, make_key):
    async with client_with(make_key("readiness:read", person="E123")) as own:
        response = await own.get(f"/v1/assessments/{assessed}/readiness",
                                 params={"format": "html"})
        assert response.status_code == 200, response.text
        # Its manager rated by HRIS id only: a bound key sees no other person's record.
        assert "E001" in response.text and "Grace Manager" not in response.text
        assert "P7" not in response.text
        assert (await own.get(f"/v1/assessments/{assessed}/readiness",
                              params={"format": "svg"})).status_code == 200
    async with client_with(make_key("readiness:read", person="P7")) as peer:
        for fmt in ("html", "svg"):  # a rater in it, yet not its subject: 404 as for JSON
            refused = await peer.get(f"/v1/assessments/{assessed}/readiness",
                                     params={"format": fmt})
            assert refused.status_code == 404, refused.text
            assert refused.headers["content-type"] == "application/problem+json"


async def test_finalized_assessment_renders_its_stored_report(admin, assessed):
    for step in ("submit", "finalize"):
        assert (await admin.post(f"/v1/assessments/{assessed}/{step}")).status_code == 200
    stored = (await admin.get(f"/v1/assessments/{assessed}/readiness")).json()
    page = (await admin.get(f"/v1/assessments/{assessed}/readiness",
                            params={"format": "html"})).text
    assert stored["inputs_digest"] in page and "assessment finalized" in page
    other = await admin.get(f"/v1/assessments/{assessed}/readiness",
                            params={"format": "html", "target_level": "director"})
    assert other.status_code == 200 and "Director of Product" in other.text


async def test_score_request_as_svg(admin, engine):
    await load_default_rubric(engine)
    body = {"rubric": {"key": "product-leadership"}, "current_level": "pm",
            "ratings": [{"competency": "execution", "rater_role": "manager", "rater_id": "E1",
                         "proficiency": 4}]}
    response = await admin.post("/v1/readiness:score", params={"format": "svg"}, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    root = parse_svg(response.content)
    assert len(axes(root)) == 12 and "Execution" in svg_text(root)
    refused = await admin.post("/v1/readiness:score", params={"format": "html"}, json=body)
    assert refused.status_code == 422
    json_answer = await admin.post("/v1/readiness:score", json=body)
    assert json_answer.headers["content-type"] == "application/json"


async def test_cohort_charts(admin, engine):
    await load_default_rubric(engine)
    await assess(admin, "P1", SENIOR_BAR)
    await assess(admin, "P2", PM_BAR)
    for chart in ("heatmap", "bands"):
        response = await admin.get("/v1/cohorts/readiness", params={
            "org_unit": "payments", "format": "svg", "chart": chart})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/svg+xml"
        root = parse_svg(response.content)
        text = svg_text(root)
        if chart == "heatmap":
            rows = [g for g in root.iter(SVG + "g") if g.get("class") == "row"]
            assert len(rows) == 12 and "Product operating model" in text
        else:
            rows = {g.get("data-band"): "".join(g.itertext()) for g in root.iter(SVG + "g")
                    if g.get("class") == "band-row"}
            assert "1 (50%)" in rows["ready_now"] and "0 (0%)" in rows["ready_soon"]
    default = await admin.get("/v1/cohorts/readiness", params={"format": "svg"})
    assert default.status_code == 200 and b"heatmap" in default.content
    bad = await admin.get("/v1/cohorts/readiness", params={"format": "svg", "chart": "pie"})
    assert bad.status_code == 422


async def test_frame_ancestors_setting_admits_portals_and_drops_x_frame_options(
        db_url, make_key, engine):
    await load_default_rubric(engine)
    portals = ["https://portal.example.com", "https://*.hr.example.org:8443"]
    app = create_app(Settings(database_url=db_url, report_frame_ancestors=portals))
    headers = {"Authorization": f"Bearer {make_key('admin')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers) as admin:
        aid = (await create_assessment(admin, "E123"))["id"]
        for fmt in ("html", "svg"):
            response = await admin.get(f"/v1/assessments/{aid}/readiness",
                                       params={"format": fmt})
            assert response.status_code == 200, response.text
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors https://portal.example.com https://*.hr.example.org:8443;" \
                in csp
            assert "x-frame-options" not in response.headers  # it could only say DENY
        # Other HTML keeps refusing every frame.
        docs = await admin.get("/docs")
        assert docs.headers["x-frame-options"] == "DENY"
    app.state.engine.dispose()


@pytest.mark.parametrize("source", [
    "*", "https://a.example.com; script-src *", "'unsafe-inline'", "portal.example.com",
    "https://a.example.com/path", "javascript:alert(1)", "'none' https://x.example.com", ""])
def test_frame_ancestors_setting_accepts_origins_only(source):
    with pytest.raises(ValidationError):
        Settings(report_frame_ancestors=[source])
    assert Settings(report_frame_ancestors=["'self'", "http://localhost:3000"])
