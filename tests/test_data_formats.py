"""Each supported format: a hand-written fixture loads into the expected EditRequests."""
from pathlib import Path

import pytest

from editnb.data import EditRequest, Probe, load_requests

FIXTURES = Path(__file__).parent / "fixtures"


def load(name, **kw):
    return load_requests(FIXTURES / name, **kw)


def test_easyedit_flat():
    reqs = load("easyedit.json")
    assert reqs.format == "easyedit" and len(reqs) == 2
    assert reqs[0] == EditRequest(
        id="7", prompt="The mother tongue of Ada Quill is", subject="Ada Quill", target_new="Welsh",
        ground_truth=[["Breton"]], rephrase_prompts=["Ada Quill grew up speaking"],
        locality=[Probe("Tomas Vell is a native speaker of", [["Breton"]], "neighborhood")],
    )
    assert reqs[1].ground_truth == [["Southgate", "Southgate Inc"]]
    assert reqs[1].rephrase_prompts == ["The owner of Harbor Labs is", "Harbor Labs belongs to"]
    assert reqs[1].locality[0].answer == [["Eastbay"]]


def test_rome_counterfact():
    (req,) = load("rome.json")
    assert req.id == "101" and req.prompt == "Lio Brant plays the position of"
    assert (req.target_new, req.ground_truth, req.relation) == ("goalkeeper", [["striker"]], "P413")
    assert req.rephrase_prompts == ["Lio Brant is known to play as", "On the pitch, Lio Brant is a"]
    assert req.locality == [
        Probe("Remy Toll plays the position of", [["striker"]], "neighborhood"),
        Probe("Gus Hale plays the position of", [["goalkeeper"]], "attribute"),
    ]
    assert req.generation_prompts == ["Lio Brant's best skill is"]


@pytest.mark.parametrize("target,expected", [("alt", "Danvel"), ("answers", "Ostra")])
def test_zsre_target_is_explicit(target, expected):
    (req,) = load("zsre.json", zsre_target=target)
    assert req.target_new == expected and req.meta == {"zsre_target": target}
    assert req.ground_truth == [["Ostra", "Ostra River"]]
    assert req.prompt == "Which river does Velmar Bridge cross?"
    assert req.rephrase_prompts == ["What river is crossed by Velmar Bridge?"]
    assert req.locality == [Probe("nq question: who wrote the song blue harbour", [["Mina Rolt"]], "unrelated")]


def test_zsre_rejects_unknown_target_choice():
    with pytest.raises(ValueError, match="zsre_target"):
        load("zsre.json", zsre_target="pred")


def test_knowedit_nested_answers():
    reqs = load("knowedit.json")
    assert reqs.format == "knowedit"
    req = reqs[0]
    assert (req.prompt, req.target_new, req.ground_truth) == ("Who founded Corvid Press?", "Ira Lenz", [["Hal Dorn"]])
    assert req.locality == [
        Probe("Corvid Press is based in", [["Tallinn"]], "relation_specificity"),
        Probe("The genre of Corvid Press books is", [["poetry", "verse"]], "forgetfulness"),  # empty inner list dropped
    ]
    assert req.portability == [
        Probe("The founder of Corvid Press was born in", [["Riga", "Rīga"], ["Latvia"]], "reasoning"),
        Probe("Who founded the publisher Corvid?", [["Ira Lenz"]], "subject_aliasing"),
    ]
    wikibio = reqs[1]
    assert (wikibio.prompt, wikibio.target_new, wikibio.subject) == (
        "Mara Quist is a Danish sculptor", "known for bronze figures", "Mara Quist")
    assert wikibio.locality == [Probe("Mara Quist was born in", [["Aarhus"]], "relation_specificity")]


def test_mquake_one_request_per_rewrite():
    reqs = load("mquake.json")
    assert [r.id for r in reqs] == ["3:0", "3:1"]
    assert reqs[0].prompt == "Pia Sund is a citizen of" and reqs[0].target_new == "Chile"
    assert reqs[0].ground_truth == [["Norway"]] and reqs[0].portability == []
    assert reqs[1].prompt == "The capital of Chile is"
    assert reqs[1].rephrase_prompts == ["What is the capital of Chile?"]
    assert reqs[1].portability == [
        Probe("What is the capital of the country Pia Sund is a citizen of?", [["Valparaiso", "Valparaíso"]], "multi_hop"),
        Probe("Pia Sund's country has which capital?", [["Valparaiso", "Valparaíso"]], "multi_hop"),
    ]
    assert reqs[1].meta == {"case": "3", "edit_in_case": 1, "edits_in_case": 2}


def test_qaedit_jsonl():
    reqs = load("qaedit.jsonl")
    assert reqs.format == "qaedit" and [r.id for r in reqs] == ["qa-1", "qa-2"]
    assert reqs[0].target_new == "Oda Vinter" and reqs[0].subject == ""
    assert reqs[0].locality == [Probe("What is the tallest tree species?", [["coast redwood"]], "unrelated")]
    assert reqs[1].rephrase_prompts == ["When was the Sela canal opened?"] and reqs[1].locality == []


def test_editnb_own_format():
    (req,) = load("editnb.json")
    assert req.id == "capital:Freedonia" and req.relation == "capital" and req.meta == {"split": "test"}
    assert req.target_answer == [["Sylvania City", "Sylvania"]]
    assert req.rephrase_prompts == ["The capital city of Freedonia is", "Freedonia's capital is the city of"]
    assert [p.kind for p in req.locality] == ["neighborhood", "unrelated"]
    assert req.portability[0].answer == [["Sylvania"]]


@pytest.mark.parametrize("name,fmt", [
    ("easyedit.json", "easyedit"), ("rome.json", "rome"), ("zsre.json", "zsre"), ("knowedit.json", "knowedit"),
    ("mquake.json", "mquake"), ("qaedit.jsonl", "qaedit"), ("editnb.json", "editnb"),
])
def test_auto_detection_equals_forced_format(name, fmt):
    auto = load(name)
    assert auto.format == fmt
    assert list(auto) == list(load(name, format=fmt))


def test_round_trip_through_dict():
    for name in ("knowedit.json", "mquake.json", "rome.json"):
        for req in load(name):
            assert EditRequest.from_dict(req.to_dict()) == req


def test_knowedit_probe_with_empty_answer_is_dropped_and_its_record_kept(tmp_path):
    import json
    import warnings

    record = {
        "subject": "Ada Quill", "prompt": "Ada Quill was born in", "target_new": "Cork", "ground_truth": [["Brest"]],
        "rephrase_prompt": "The birthplace of Ada Quill is",
        "locality": {"Relation_Specificity": [{"prompt": "Ada Quill's sibling is", "ground_truth": [[]]},
                                              {"prompt": "Ada Quill speaks", "ground_truth": [["Breton"]]}]},
        "portability": {"Reasoning": [{"prompt": "Ada Quill was born in the country of", "ground_truth": ""}]},
    }
    path = tmp_path / "wiki_recent.json"
    path.write_text(json.dumps([record, dict(record, subject="Tomas Vell")]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reqs = load_requests(path)
    assert reqs.format == "knowedit" and len(reqs) == 2 and not reqs.skipped
    assert [p.prompt for p in reqs[0].locality] == ["Ada Quill speaks"] and reqs[0].portability == []
    assert reqs.dropped == ["record 0: locality.Relation_Specificity[0].ground_truth",
                            "record 0: portability.Reasoning[0].ground_truth",
                            "record 1: locality.Relation_Specificity[0].ground_truth",
                            "record 1: portability.Reasoning[0].ground_truth"]
    (warning,) = [w for w in caught if "dropped" in str(w.message)]
    assert "dropped 4 probe(s) with an empty answer" in str(warning.message) and str(path) in str(warning.message)


def test_knowedit_missing_answer_is_still_an_error(tmp_path):
    import json

    from editnb.data import EditDataError

    record = {"prompt": "Ada Quill was born in", "target_new": "Cork",
              "locality": {"Relation_Specificity": [{"prompt": "Ada Quill speaks"}]}}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([record]))
    with pytest.raises(EditDataError, match=r"record 0: field 'locality.Relation_Specificity\[0\].ground_truth'"):
        load_requests(path)
