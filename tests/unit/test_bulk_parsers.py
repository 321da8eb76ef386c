"""The streaming parsers (pure: no database): items, line numbers and field paths."""

import io
import json

import pytest

from service.bulk.parsers import FileError, count_items, csv_items, ndjson_items

HEADER = "external_id,display_name,current_level,cycle,competency,rater_role,rater_id," \
         "proficiency,evidence\n"


def parse_csv(text: str | bytes, limit: int = 1 << 20):
    data = text.encode() if isinstance(text, str) else text
    return list(csv_items(io.BytesIO(data), limit))


def parse_ndjson(data: bytes, limit: int = 1 << 20):
    return list(ndjson_items(io.BytesIO(data), limit))


def test_csv_rows_group_into_assessments_by_person_and_cycle():
    items = parse_csv(HEADER + "E1,Ada,pm,2026-H2,strategy,self,,3,\n"
                               "E1,Ada,pm,2026-H2,execution,manager,M1,4,shipped it\n"
                               "\n"
                               "E2,Bob,pm,2026-H2,strategy,self,,2,\n"
                               "E1,Ada,pm,2027-H1,,,,,\n")
    assert [(i.external_id, i.cycle, i.line, i.rows) for i in items] == [
        ("E1", "2026-H2", 2, 2), ("E2", "2026-H2", 5, 1), ("E1", "2027-H1", 6, 1)]
    first = items[0]
    assert [(r.competency, r.rater_role, r.rater_id, r.proficiency, r.evidence)
            for r in first.ratings] == [("strategy", "self", None, 3, None),
                                        ("execution", "manager", "M1", 4, "shipped it")]
    assert first.rating_lines == [2, 3]
    assert first.person == {"display_name": "Ada", "level": "pm"}
    assert items[2].ratings == [] and not any(i.errors for i in items)


def test_csv_errors_carry_the_line_of_the_row_and_the_column():
    items = parse_csv(HEADER + 'E1,Ada,pm,2026-H2,strategy,self,,"3\n4",\n'  # lines 2-3
                               "E1,Ada,pm,2026-H2,execution,boss,M1,4,\n"
                               "E1,Ada,senior-pm,2026-H2,scope,manager,M1,4,\n"
                               "E2,Bob,pm\n")
    (e1, e2) = items
    assert [e[:2] for e in e1.errors] == [(2, "proficiency"), (4, "rater_role"),
                                          (5, "current_level")]
    assert "valid integer" in e1.errors[0][2] and "'self'" in e1.errors[1][2]
    assert e1.errors[2][2] == "differs from line 2 of the same assessment ('senior-pm')"
    assert e1.where("ratings[1].rater_role") == (4, "rater_role")
    assert e1.where("person.level") == (2, "current_level")
    assert e1.where("rubric.version") == (2, "rubric_version")
    assert e2.errors == [(6, "", "has 3 fields; the header has 9")]


def test_csv_rows_of_one_assessment_must_be_together():
    items = parse_csv(HEADER + "E1,Ada,pm,2026-H2,strategy,self,,3,\n"
                               "E2,Bob,pm,2026-H2,strategy,self,,3,\n"
                               "E1,Ada,pm,2026-H2,execution,self,,3,\n")
    assert [i.errors for i in items[:2]] == [[], []]
    assert items[2].errors[0][:2] == (4, "external_id")
    assert "from line 2" in items[2].errors[0][2]


@pytest.mark.parametrize(("text", "field", "message"), [
    ("external_id,cycle,notes\nE1,2026-H2,x\n", "notes", "unknown column"),
    ("external_id,display_name\nE1,x\n", "cycle", "missing column"),
    ("external_id,cycle,competency,proficiency\nE1,c,s,3\n", "rater_role", "missing column"),
    ("external_id,cycle,cycle\nE1,c,c\n", "", "named twice"),
    ("", "", "empty"),
])
def test_a_bad_csv_header_fails_the_whole_file(text, field, message):
    with pytest.raises(FileError) as error:
        parse_csv(text)
    assert (error.value.line, error.value.field) == (1, field)
    assert message in error.value.message


def test_csv_reads_a_bom_and_crlf_and_reports_bad_bytes_and_long_lines_per_row():
    data = ("\ufeff" + HEADER).encode() + b"E1,Ada,pm,2026-H2,strategy,self,,3,\r\n" \
        + b"E2,B\xff,pm,2026-H2,strategy,self,,3,\n" + b"E3," + b"x" * 300 + b"\n" \
        + b"E4,Dee,pm,2026-H2,strategy,self,,3,\n"
    items = parse_csv(data, limit=200)
    assert [(i.line, i.external_id) for i in items] == [(2, "E1"), (3, None), (4, None),
                                                          (5, "E4")]
    assert items[0].errors == [] and items[3].errors == []
    assert "not valid UTF-8" in items[1].errors[0][2]
    assert "longer than 200 bytes" in items[2].errors[0][2]


def test_json_lines_give_field_paths_and_skip_blank_lines():
    good = {"person": {"external_id": "E1", "display_name": "Ada", "level": "pm"},
            "rubric": {"key": "product-leadership", "version": 1}, "cycle": "2026-H2",
            "ratings": [{"competency": "strategy", "rater_role": "self", "proficiency": 3}],
            "submit": True}
    bad = {"person": {"external_id": "E 2"}, "cycle": "2026-H2", "colour": "red",
           "ratings": [{"competency": "strategy", "rater_role": "self", "proficiency": 300}]}
    data = (json.dumps(good) + "\n\n" + json.dumps(bad) + "\n{not json\n[1]\n"
            + json.dumps({"person": "E3", "rubric": 7, "cycle": "c"}) + "\n").encode()
    items = parse_ndjson(data)
    assert [i.line for i in items] == [1, 3, 4, 5, 6]
    first = items[0]
    assert (first.external_id, first.rubric_key, first.rubric_version, first.status) == (
        "E1", "product-leadership", 1, "submitted")
    assert first.person == {"display_name": "Ada", "level": "pm"} and first.errors == []
    assert sorted(f for _, f, _ in items[1].errors) == ["colour", "ratings[0].proficiency"]
    assert items[1].external_id == "E 2"  # context for the error report, even when invalid
    assert "not valid JSON" in items[2].errors[0][2]
    assert items[3].errors == [(5, "", "each line must be a JSON object")]
    assert items[4].person is None and items[4].errors[0][:2] == (6, "rubric")
    assert count_items("ndjson", io.BytesIO(data)) == 5
    assert count_items("csv", io.BytesIO(data)) is None


def test_json_line_status_and_submit_must_agree():
    doc = {"person": "E1", "cycle": "c", "status": "draft", "finalize": True}
    (item,) = parse_ndjson((json.dumps(doc) + "\n").encode())
    assert item.errors[0][1] == "status"
