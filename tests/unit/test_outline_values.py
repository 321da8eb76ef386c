"""Pure checks of outline values and rendering (no database)."""

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
