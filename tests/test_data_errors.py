"""Malformed input: every error names the file, the record and the field; nothing is dropped silently."""
import json

import pytest

from editnb.data import EditDataError, load_requests

GOOD_EASYEDIT = {"prompt": "P is", "target_new": "x", "ground_truth": "y", "subject": "P",
                 "rephrase_prompt": "P, that is", "locality_prompt": "Q is", "locality_ground_truth": "z"}
GOOD_ROME = {"case_id": 1, "requested_rewrite": {"prompt": "{} is", "subject": "S", "target_new": {"str": "a"},
                                                 "target_true": {"str": "b"}}}
GOOD_ZSRE = {"src": "Q?", "alt": "a", "answers": ["b"], "rephrase": "Q again?", "loc": "nq question: x", "loc_ans": "y"}
GOOD_KNOWEDIT = {"prompt": "P?", "target_new": "a", "ground_truth": ["b"],
                 "locality": {"Relation_Specificity": [{"prompt": "L?", "ground_truth": ["c"]}]}}
GOOD_MQUAKE = {"case_id": 1, "requested_rewrite": [GOOD_ROME["requested_rewrite"]], "questions": ["M?"], "new_answer": "a"}
GOOD_QAEDIT = {"prompt": "P?", "target": "a", "rephrase": "P again?", "locality": [{"loc": "L?", "loc_ans": "b"}]}


def with_(base, path, value):
    """A deep copy of ``base`` with the key at dotted ``path`` set to ``value`` (or removed if ...)."""
    rec = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = rec
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return rec


CASES = [
    # (format, records, bad record index, field named in the error, words of the message)
    ("easyedit", [GOOD_EASYEDIT, with_(GOOD_EASYEDIT, "prompt", ...)], 1, "prompt", "missing required field"),
    ("easyedit", [with_(GOOD_EASYEDIT, "target_new", "  ")], 0, "target_new", "non-empty"),
    ("easyedit", [GOOD_EASYEDIT, GOOD_EASYEDIT, with_(GOOD_EASYEDIT, "target_new", 42)], 2, "target_new", "expected a string, got int"),
    ("easyedit", [with_(GOOD_EASYEDIT, "ground_truth", {"a": 1})], 0, "ground_truth", "expected a string or a list"),
    ("easyedit", [with_(GOOD_EASYEDIT, "rephrase_prompt", [1, 2])], 0, "rephrase_prompt", "list of strings"),
    ("easyedit", [with_(GOOD_EASYEDIT, "locality_ground_truth", ...)], 0, "locality_ground_truth", "missing"),
    ("rome", [GOOD_ROME, with_(GOOD_ROME, "requested_rewrite.prompt", "is located in")], 1, "requested_rewrite.prompt", "no '{}'"),
    ("rome", [with_(GOOD_ROME, "requested_rewrite.target_new", "a")], 0, "requested_rewrite.target_new", "expected a JSON object"),
    ("rome", [with_(GOOD_ROME, "requested_rewrite.target_true.str", "")], 0, "requested_rewrite.target_true.str", "non-empty"),
    ("rome", [with_(GOOD_ROME, "requested_rewrite.subject", ...)], 0, "requested_rewrite.subject", "missing"),
    ("zsre", [with_(GOOD_ZSRE, "answers", [])], 0, "answers", "empty"),
    ("zsre", [with_(GOOD_ZSRE, "alt", None)], 0, "alt", "missing"),
    ("knowedit", [with_(GOOD_KNOWEDIT, "locality.Relation_Specificity", {"prompt": "x"})], 0, "locality.Relation_Specificity", "list of objects"),
    ("knowedit", [with_(GOOD_KNOWEDIT, "locality.Relation_Specificity.0.ground_truth", [["a"], 3])], 0,
     "locality.Relation_Specificity[0].ground_truth", "only strings"),
    ("knowedit", [with_(GOOD_KNOWEDIT, "ground_truth", ["a", ["b"]])], 0, "ground_truth", "mix"),
    ("mquake", [with_(GOOD_MQUAKE, "requested_rewrite", [])], 0, "requested_rewrite", "at least one"),
    ("mquake", [with_(GOOD_MQUAKE, "requested_rewrite.0.prompt", "no placeholder")], 0, "requested_rewrite[0].prompt", "no '{}'"),
    ("qaedit", [with_(GOOD_QAEDIT, "locality.0.loc_ans", ...)], 0, "locality[0].loc_ans", "missing"),
    ("qaedit", [GOOD_QAEDIT, "not an object"], 1, "<record>", "expected a JSON object"),
]


@pytest.mark.parametrize("fmt,records,index,field,words", CASES)
def test_malformed_record_names_file_record_and_field(tmp_path, fmt, records, index, field, words):
    path = tmp_path / f"bad_{fmt}.json"
    path.write_text(json.dumps(records))
    with pytest.raises(EditDataError) as info:
        load_requests(path, format=fmt)
    err = info.value
    assert (err.index, err.field) == (index, field)
    assert str(path) in str(err) and f"record {index}" in str(err) and f"'{field}'" in str(err)
    assert words in str(err)


def test_invalid_json_reports_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n {"prompt": "a",\n  "target_new": }\n]')
    with pytest.raises(EditDataError, match=r"broken.json.*invalid JSON on line 3"):
        load_requests(path)


def test_invalid_jsonl_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(GOOD_QAEDIT) + "\n" + json.dumps(GOOD_QAEDIT) + "\n{oops\n")
    with pytest.raises(EditDataError, match=r"record 2: field '<json>': invalid JSON on line 3"):
        load_requests(path)


def test_unrecognised_format_asks_for_format(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps([{"question": "q", "answer": "a"}]))
    with pytest.raises(EditDataError, match=r"record 0.*unrecognised format.*\['answer', 'question'\].*format="):
        load_requests(path)


def test_unknown_format_name_and_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[]")
    with pytest.raises(EditDataError, match="no records"):
        load_requests(path)
    with pytest.raises(ValueError, match="unknown format"):
        load_requests(path, format="counterfact2")


def test_skip_loads_the_rest_and_reports_why(tmp_path):
    path = tmp_path / "mixed.json"
    records = [GOOD_EASYEDIT, with_(GOOD_EASYEDIT, "prompt", ...), GOOD_EASYEDIT, with_(GOOD_EASYEDIT, "target_new", 3)]
    path.write_text(json.dumps(records))
    with pytest.warns(UserWarning, match=r"skipped 2 of 4 records.*record 1: field 'prompt'.*record 3: field 'target_new'"):
        reqs = load_requests(path, on_error="skip")
    assert len(reqs) == 2 and [e.index for e in reqs.skipped] == [1, 3]
    assert [e.field for e in reqs.skipped] == ["prompt", "target_new"]


def test_duplicate_ids_are_made_unique(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([GOOD_ROME, GOOD_ROME]))
    assert [r.id for r in load_requests(path)] == ["1", "1#1"]
