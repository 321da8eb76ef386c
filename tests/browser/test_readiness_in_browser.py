"""The readiness report and charts in a real headless Chromium, served by a real uvicorn server
(both backends): they render without a console error (a CSP violation is one), look like
something (screenshots not blank, different for a ready and a not-ready person, and between
light and dark), label one axis per competency, carry text alternatives the browser's
accessibility tree exposes, keep text contrast at WCAG AA as the browser computes it, print on
A4 and Letter, and never run what people typed."""

import base64
import io
import itertools
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from service.db import open_session
from service.readiness.render.palette import contrast
from service.rubrics.service import load_defaults
from tests.api.test_cohorts import PM_BAR, SENIOR_BAR
from tests.factories.people import person_doc
from tests.factories.rubrics import rubric_doc

HOSTILE_NAME = "<script>document.title='owned';window.owned=1</script>Nia"
HOSTILE_EVIDENCE = "<img src=x onerror=\"window.owned=1;document.title='owned'\">Led the launch"
HOSTILE_COMPETENCY = "<script>window.owned=1</script>Delivery<img src=x onerror=window.owned=1>"
NAMES = {"scope-judgement": "Scope and judgement", "execution": "Execution",
         "business-understanding": "Business understanding", "strategy": "Strategy",
         "trust-collaboration": "Trust and collaboration",
         "developing-people": "Developing people", "team-design": "Team and organisation design",
         "operating-model": "Product operating model",
         "communication-influence": "Communication and influence",
         "value-outcomes": "Value and outcomes", "org-improvement": "Organisational improvement",
         "self-leadership": "Self-leadership and time"}


# --- the data: a ready person and a not-ready one, over HTTP -------------------------------------

def _client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"},
                        timeout=120)  # generous: a loaded 2-core CI machine


def _assess(client: httpx.Client, person: str, name: str, raters: dict[tuple[str, str], dict],
            evidence: str, rubric: str = "product-leadership", level: str = "pm") -> str:
    assert client.put(f"/v1/people/{person}", json=person_doc(
        person, display_name=name, rubric=rubric, level=level)).status_code in (200, 201)
    created = client.post("/v1/assessments", json={"person": person, "cycle": "2026-H2"})
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    for (role, rater), values in raters.items():
        etag = client.get(f"/v1/assessments/{aid}").headers["etag"]
        body = {"rater_role": role, "rater_id": rater, "ratings": [
            {"competency": k, "proficiency": v, "evidence": evidence} for k, v in values.items()]}
        response = client.put(f"/v1/assessments/{aid}/ratings", json=body,
                              headers={"If-Match": etag})
        assert response.status_code == 200, response.text
    return aid


@pytest.fixture
def people(live_server, engine, make_key):
    """(base URL, admin key, {"ready": id, "not_ready": id}) on the default ladder: R1 rated at
    the senior-pm bar by manager and peer; N1 (a hostile name and hostile evidence) rated at
    the pm bar on eight competencies, four left unrated. Both finalized."""
    with open_session(engine, write=True) as session:
        load_defaults(session)
        session.commit()
    key = make_key("admin")
    with _client(live_server, key) as client:
        client.put("/v1/people/M1", json=person_doc("M1", display_name="Mona Manager"))
        ready = _assess(client, "R1", "Rhea Ready", {
            ("manager", "M1"): SENIOR_BAR, ("peer", "P1"): SENIOR_BAR}, "Ran the pricing review")
        not_ready = _assess(client, "N1", HOSTILE_NAME, {
            ("manager", "M1"): dict(list(PM_BAR.items())[:8]),
            ("peer", "P2"): {"execution": 2, "strategy": 2}}, HOSTILE_EVIDENCE)
        for aid in (ready, not_ready):  # into the cohort, with stored reports
            for step in ("submit", "finalize"):
                assert client.post(f"/v1/assessments/{aid}/{step}").status_code == 200
    return live_server, key, {"ready": ready, "not_ready": not_ready}


# --- helpers -------------------------------------------------------------------------------------

def authorise(driver, key: str) -> None:
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                           {"headers": {"Authorization": f"Bearer {key}"}})


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver) -> Image.Image:
    return Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")


def assert_not_blank(image: Image.Image) -> None:
    stat = ImageStat.Stat(image.convert("L"))
    colours = image.getcolors(maxcolors=1 << 20)
    assert stat.stddev[0] > 8, f"screenshot looks blank (grey stddev {stat.stddev[0]:.1f})"
    assert colours is None or len(colours) > 50, f"only {len(colours)} colours"


def differing_share(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a, b.resize(a.size)).convert("L").point(lambda v: v > 24 and 255)
    return diff.histogram()[255] / (a.size[0] * a.size[1])


def assert_nothing_ran(driver) -> None:
    assert driver.execute_script("return typeof window.owned") == "undefined"
    assert driver.title != "owned"


def rgb_hex(css: str) -> str:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


AXES_JS = """
const root = document.querySelector('svg.radar');
const box = root.getBoundingClientRect();
return [...root.querySelectorAll('g.axis')].map(g => {
  const label = g.querySelector('text.axis-label');
  const r = label.getBoundingClientRect();
  return [g.dataset.competency, label.textContent.trim(), g.querySelector('line') !== null,
          r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
          && r.bottom <= box.bottom + 1 && r.width > 0];
});
"""

OVERFLOW_JS = """
const right = document.querySelector('main').getBoundingClientRect().right;
return [...document.querySelectorAll('main *')].filter(e => !e.closest('svg')
  && e.getBoundingClientRect().right > right + 0.5).map(e => e.tagName + ' '
  + e.textContent.slice(0, 30) + ' ' + e.getBoundingClientRect().right);
"""

CONTRAST_JS = """
const transparent = c => c === 'transparent' || /rgba\\(.*,\\s*0\\)$/.test(c);
const background = el => {
  for (let n = el; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (!transparent(c)) return c;
  }
  return getComputedStyle(document.documentElement).backgroundColor;
};
const out = [];
const texts = 'h1,h2,h3,p,li,th,td,caption,figcaption,dt,dd,code,span,strong';
for (const el of document.querySelectorAll(texts)) {
  if (el.closest('svg') || !el.textContent.trim()) continue;
  out.push([el.tagName + '.' + el.className, getComputedStyle(el).color, background(el)]);
}
const page = getComputedStyle(document.documentElement).backgroundColor;
for (const t of document.querySelectorAll('svg.radar text, svg.radar tspan')) {
  out.push(['svg ' + t.getAttribute('class'), getComputedStyle(t).fill, page]);
}
return out;
"""


def radar_axes(driver) -> list[list]:
    return driver.execute_script(AXES_JS)


def accessible_images(driver) -> list[tuple[str, str]]:
    """(name, description) of every node the accessibility tree calls an image."""
    tree = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})
    found = []
    for node in tree["nodes"]:
        if node.get("role", {}).get("value") in ("image", "img", "graphics-document"):
            found.append((node.get("name", {}).get("value", ""),
                          node.get("description", {}).get("value", "")))
    return found


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


# --- the HTML report -----------------------------------------------------------------------------

def test_html_report_in_the_browser(page, people):
    base, key, ids = people
    authorise(page, key)
    shots, titles = {}, {}
    for who, aid in ids.items():
        page.get(f"{base}/v1/assessments/{aid}/readiness?format=html")
        assert page.find_element("css selector", "h1").text, who
        assert console_errors(page) == [], who
        assert_nothing_ran(page)
        titles[who] = page.title
        axes = radar_axes(page)
        assert [a[0] for a in axes] == list(NAMES)  # one axis per competency, in rubric order
        for competency, label, has_line, inside in axes:
            assert label.startswith(NAMES[competency].split()[0]) and has_line and inside, label
        images = accessible_images(page)
        assert any(name.startswith("Readiness radar") and len(desc) > 200
                   for name, desc in images), images
        tables = page.find_elements("css selector", "figure + table")
        assert tables and len(tables[0].find_elements("css selector", "tbody tr")) == 12
        assert page.execute_script(OVERFLOW_JS) == [], who  # nothing wider than the page
        headings = [h.text for h in page.find_elements("css selector", "h1, h2")]
        assert len(headings) >= 9 and headings[1] == "Summary"
        shots[who] = screenshot(page)
        assert_not_blank(shots[who])
    assert "Rhea Ready" in titles["ready"] and "<script>" in titles["not_ready"]  # as text
    assert differing_share(shots["ready"], shots["not_ready"]) > 0.02
    # The hostile strings are on the page, as text.
    body = page.find_element("css selector", "body").text
    assert HOSTILE_NAME in body and "Led the launch" in body and "<img src=x" in body


def test_html_report_themes_and_contrast(page, people):
    base, key, ids = people
    authorise(page, key)
    shots = {}
    for scheme, who in itertools.product(("light", "dark"), ("ready", "not_ready")):
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": scheme}]})
        page.get(f"{base}/v1/assessments/{ids[who]}/readiness?format=html")
        assert console_errors(page) == []
        pairs = page.execute_script(CONTRAST_JS)
        assert len(pairs) > 100
        low = [(what, fg, bg, round(contrast(rgb_hex(fg), rgb_hex(bg)), 2))
               for what, fg, bg in pairs if contrast(rgb_hex(fg), rgb_hex(bg)) < 4.5]
        assert low == [], (scheme, who, low[:5])
        background = rgb_hex(page.execute_script(
            "return getComputedStyle(document.documentElement).backgroundColor"))
        assert (contrast(background, "#000000") < 2) == (scheme == "dark"), background
        shots[scheme, who] = screenshot(page)
    assert differing_share(shots["light", "ready"], shots["dark", "ready"]) > 0.5


@pytest.mark.parametrize(("paper", "width_cm", "height_cm", "printable_px"), [
    ("A4", 21.0, 29.7, 680), ("Letter", 21.59, 27.94, 702)])
def test_html_report_prints(page, people, paper, width_cm, height_cm, printable_px):
    from selenium.webdriver.common.print_page_options import PrintOptions

    base, key, ids = people
    authorise(page, key)
    page.get(f"{base}/v1/assessments/{ids['not_ready']}/readiness?format=html")
    options = PrintOptions()
    options.page_width, options.page_height = width_cm, height_cm
    options.background = True
    pdf = base64.b64decode(page.print_page(options))
    assert pdf.startswith(b"%PDF") and 2 <= pdf_pages(pdf) <= 12, (paper, pdf_pages(pdf))
    # Laid out for print at the page's printable width (15 mm margins), nothing overflows;
    # and print is light even for a reader who prefers dark.
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print", "features": [
        {"name": "prefers-color-scheme", "value": "dark"}]})
    assert rgb_hex(page.execute_script(
        "return getComputedStyle(document.documentElement).backgroundColor")) == "#ffffff"
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": printable_px, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    assert page.execute_script("return window.innerWidth") == printable_px
    wide = page.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => !e.closest('svg') && ("
        "e.getBoundingClientRect().right > window.innerWidth + 0.5 "
        "|| e.scrollWidth > window.innerWidth)).map(e => e.tagName + ' ' + "
        "e.textContent.slice(0, 40) + ' ' + e.getBoundingClientRect().right)")
    assert wide == [], (paper, wide[:5])
    assert page.execute_script("return document.documentElement.scrollWidth") <= printable_px
    assert console_errors(page) == []


# --- the SVG charts ------------------------------------------------------------------------------

def test_svg_charts_in_the_browser(page, people):
    base, key, ids = people
    authorise(page, key)
    shots = {}
    for who, aid in ids.items():
        page.get(f"{base}/v1/assessments/{aid}/readiness?format=svg")
        assert console_errors(page) == [], who
        assert_nothing_ran(page)
        axes = radar_axes(page)
        assert len(axes) == 12 and all(label and line and inside for _, label, line, inside in axes)
        assert page.title.startswith("Readiness radar")  # the SVG's <title>
        shots[who] = screenshot(page)
        assert_not_blank(shots[who])
    assert differing_share(shots["ready"], shots["not_ready"]) > 0.01
    for chart, marker in (("heatmap", "g.row"), ("bands", "g.band-row")):
        page.get(f"{base}/v1/cohorts/readiness?format=svg&chart={chart}")
        assert console_errors(page) == [], chart
        assert len(page.find_elements("css selector", marker)) == (12 if chart == "heatmap"
                                                                   else 4)
        assert page.title.startswith("Readiness " + ("heat map" if chart == "heatmap"
                                                     else "bands"))
        assert_not_blank(screenshot(page))


def test_score_radar_renders_from_a_file(page, people, tmp_path):
    """The stateless score's radar (a POST, so saved and opened as a file)."""
    base, key, _ = people
    with _client(base, key) as client:
        answer = client.post("/v1/readiness:score?format=svg", json={
            "rubric": {"key": "product-leadership"}, "current_level": "pm", "ratings": [
                {"competency": k, "rater_role": "manager", "rater_id": "M1", "proficiency": v}
                for k, v in SENIOR_BAR.items()]})
    assert answer.status_code == 200, answer.text
    path = tmp_path / "score.svg"
    path.write_bytes(answer.content)
    page.get(path.as_uri())
    assert console_errors(page) == []
    assert len(radar_axes(page)) == 12
    assert_not_blank(screenshot(page))


# --- what people typed never runs ----------------------------------------------------------------

def test_hostile_rubric_and_people_never_run(page, live_server, make_key, tmp_path: Path):
    """Script and handlers in a rubric's names, a person's name and evidence: over HTTP (CSP
    and escaping) and again from a file with no CSP at all (escaping alone)."""
    key = make_key("admin")
    doc = rubric_doc("hostile")
    doc["name"] = HOSTILE_NAME
    doc["competencies"][0]["name"] = HOSTILE_COMPETENCY
    doc["levels"][1]["name"] = "<img src=x onerror=window.owned=1>Mid"
    with _client(live_server, key) as client:
        assert client.post("/v1/rubrics:import?publish=true", json=doc).status_code == 201
        aid = _assess(client, "H1", HOSTILE_NAME, {("manager", "M9"): {"craft": 3}},
                      HOSTILE_EVIDENCE, rubric="hostile", level="junior")
        files = {fmt: client.get(f"/v1/assessments/{aid}/readiness?format={fmt}").content
                 for fmt in ("html", "svg")}
    authorise(page, key)
    for fmt in ("html", "svg"):
        page.get(f"{live_server}/v1/assessments/{aid}/readiness?format={fmt}")
        assert console_errors(page) == [], fmt
        assert_nothing_ran(page)
        text = page.execute_script("return document.documentElement.textContent")
        assert "Delivery<img src=x onerror=window.owned=1>" in text, fmt
        path = tmp_path / f"report.{fmt}"
        path.write_bytes(files[fmt])
        page.get(path.as_uri())
        assert_nothing_ran(page)
        assert console_errors(page) == [], fmt
