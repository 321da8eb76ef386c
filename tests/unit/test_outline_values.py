"""Pure checks of outline values and rendering (no database)."""

import re

from service.outlines.render import Document, md_markdown, md_text, to_html, to_markdown
from service.outlines.schemas import TemplateField
from service.outlines.validation import check_values
from service.rubrics.published import PublishedRubric
from service.rubrics.schemas import RubricCreate

LADDER = PublishedRubric("ladder", 3, RubricCreate.model_validate({
    "key": "ladder", "name": "Ladder", "scale": {"min": 1, "max": 5},
    "levels": [{"key": "junior", "name": "Junior", "order": 1},
               {"key": "senior", "name": "Senior", "order": 2}],
    "competencies": [{"key": "craft", "name": "Craft"}, {"key": "delivery", "name": "Delivery"}]}))


def lookup(key):
    return LADDER if key == "ladder" else None


def field(key, type_, **extra):
    return TemplateField(key=key, label=key.title(), type=type_, **extra)


def test_person_references_are_returned_for_one_batch_check():
    fields = [field("owner", "person"), field("mentors", "person", multiple=True)]
    checked = check_values(fields, {"owner": "E1", "mentors": ["E2", "E1"]}, lookup)
    assert checked.errors == []
    assert checked.people == [("values.owner", "E1"), ("values.mentors[0]", "E2"),
                              ("values.mentors[1]", "E1")]


def test_reference_errors_name_the_rubric_version():
    checked = check_values([field("goal", "level", rubric="ladder")], {"goal": "staff"}, lookup)
    assert [(e.field, e.message) for e in checked.errors] == [
        ("values.goal", "unknown level 'staff' in rubric 'ladder' version 3")]
    gone = check_values([field("goal", "level", rubric="gone")], {"goal": "x"}, lookup)
    assert gone.errors[0].message == "rubric 'gone' has no published version to check against"


def test_default_text_limits_apply_when_a_field_sets_none():
    checked = check_values([field("t", "text"), field("m", "markdown")],
                           {"t": "x" * 1001, "m": "y" * 20_000}, lookup)
    assert [e.field for e in checked.errors] == ["values.t"]


def test_markdown_escaping_keeps_text_literal():
    assert md_text("# 1. *x* <i>") == "\\# 1. \\*x\\* &lt;i>"
    assert md_text("12. twelve") == "12\\. twelve"
    assert md_text("2026-06-30 A&B") == "2026-06-30 A&amp;B"
    assert md_markdown("> quote **bold** <script>") == "> quote **bold** &lt;script>"


def test_html_neutralises_scripts_and_script_links():
    doc = Document(
        title="<img src=x onerror=alert(1)>", status="draft", template_name="T",
        template_key="t", template_version=1,
        fields=[field("notes", "markdown"), field("kind", "enum", options=["org_debt"])],
        values={"notes": "[click](javascript:alert(1)) <script>x()</script>",
                "kind": "org_debt"})
    page = to_html(doc)
    assert "<img" not in page and "<script" not in page and 'href="javascript' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<p>Org debt</p>" in page
    assert to_markdown(doc).startswith("# &lt;img src=x onerror=alert(1)>\n")


UNSAFE_LINKS = [
    "[click](javascript:alert(1))",
    "[click](JavaScript:alert(1))",
    "[click](jav&#x61;script:alert(1))",  # an entity a browser decodes
    "[click](java%09script:alert(1))",  # a tab a browser drops
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click][ref]\n\n[ref]: javascript:alert(1)",  # a reference a wiki would resolve
    "see ![tracking pixel](https://tracker.example/p.png?who=ada) here",
    "![inline](data:image/png;base64,iVBORw0KGgo=)",
]


def notes_doc(value: str) -> Document:
    return Document(title="T", status="draft", template_name="T", template_key="t",
                    template_version=1, fields=[field("notes", "markdown")],
                    values={"notes": value})


def test_markdown_values_with_unsafe_links_or_images_are_written_as_plain_text():
    for value in UNSAFE_LINKS:
        written = md_markdown(value)
        assert written == md_text(value), value  # every bracket escaped: nothing is live
        assert not re.search(r"(?<!\\)[\[\]]", written), value  # no bracket left unescaped
    kept = "**Read** [the plan](https://wiki.example/plan), [mail](mailto:a@example.com), " \
           "[home](/v1/outlines)"
    assert md_markdown(kept) == kept  # safe links stay Markdown


def test_html_keeps_no_unsafe_link_and_loads_no_image():
    for value in UNSAFE_LINKS:
        page = to_html(notes_doc(value)).lower()
        assert "<img" not in page, value
        for scheme in ("javascript:", "vbscript:", "data:", "java%09script"):
            assert f'href="{scheme}' not in page, value
    page = to_html(notes_doc("![pixel](https://tracker.example/p.png) [ok](https://a.example)"))
    assert '<a href="https://tracker.example/p.png">pixel</a>' in page  # a link, not loaded
    assert '<a href="https://a.example">ok</a>' in page
