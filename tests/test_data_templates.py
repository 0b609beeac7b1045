"""The embedded dataset v2: template-disjoint splits, grammatical prompts, audited aliases."""
import json
import re
from functools import lru_cache

import pytest

from editnb.data import embedded
from editnb.data.aliases import OBJECT_ALIASES, OVERLAPPING, object_aliases
from editnb.data.relations import fill, subject_key


@lru_cache(maxsize=None)
def records(split):
    return json.loads(embedded.split_path(split).read_text(encoding="utf-8"))


def capitalised(subject):
    return subject[0].upper() + subject[1:]


def subject_pattern(subject):
    """The subject as a whole phrase, its first letter either case."""
    first = re.escape(subject[0].lower()) if subject[0].lower() == subject[0].upper() else f"[{subject[0].lower()}{subject[0].upper()}]"
    return re.compile(rf"(?<!\w){first}{re.escape(subject[1:])}(?!\w)")


def template_of(prompt, subject):
    """The template a prompt was filled from: the subject becomes '{}' (first letter either case)."""
    template, n = subject_pattern(subject).subn("{}", prompt, count=1)
    assert n == 1, f"subject {subject!r} not in {prompt!r}"
    return template.replace("{}' ", "{}'s ")  # "the United States' capital" was "{}'s capital"


def probe_subjects():
    """Every subject of the dataset, to recover the templates of locality probes."""
    return sorted({s for rel in embedded.RELATIONS for s, _ in rel.pairs()}, key=len, reverse=True)


def probe_template(prompt, relation_subjects):
    for subject in relation_subjects:
        if subject_pattern(subject).search(prompt):
            return template_of(prompt, subject)
    raise AssertionError(f"no subject found in {prompt!r}")


def templates_used(split, *, probes=("Neighborhood", "Unrelated")):
    subjects = probe_subjects()
    used = set()
    for rec in records(split):
        used |= {template_of(p, rec["subject"]) for p in [rec["prompt"], *rec["rephrase_prompts"]]}
        used |= {probe_template(p["prompt"], subjects) for kind in probes for p in rec["locality"].get(kind, [])}
    return used


def test_fill_capitalises_and_handles_possessives():
    assert fill("{} can be found in the city of", "the Eiffel Tower") == "The Eiffel Tower can be found in the city of"
    assert fill("You can visit {} in the city of", "the Eiffel Tower") == "You can visit the Eiffel Tower in the city of"
    assert fill("{}'s capital is the city of", "the United States") == "The United States' capital is the city of"
    assert fill("{}'s capital is the city of", "France") == "France's capital is the city of"
    with pytest.raises(ValueError):
        fill("no placeholder", "x")


def test_each_relation_has_three_disjoint_template_sets():
    for rel in embedded.RELATIONS:
        sets = {s: set(rel.templates(s)) for s in ("train", "dev", "test")}
        assert all(len(ts) >= 3 for ts in sets.values()), rel.name
        assert not sets["train"] & sets["dev"] and not sets["train"] & sets["test"] and not sets["dev"] & sets["test"]
        assert len(set.union(*sets.values())) >= 9
        for t in set.union(*sets.values()):
            assert t.count("{}") == 1 and not t.endswith((" ", " a", " an")), (rel.name, t)
        # The template of the main prompt is also recoverable from every subject of the relation.
        for subject, _ in rel.pairs():
            for t in set.union(*sets.values()):
                assert template_of(fill(t, subject), subject) == t


def test_no_template_crosses_splits_across_relations():
    where = {}
    for rel in embedded.RELATIONS:
        for split in ("train", "dev", "test"):
            for t in rel.templates(split):
                where.setdefault(t, set()).add(split)
    assert not {t: s for t, s in where.items() if len(s) > 1}


def test_records_use_their_own_split_templates():
    train = templates_used("train", probes=("Neighborhood",))  # what SERAC trains on (hard negatives included)
    dev, test = templates_used("dev"), templates_used("test")
    assert not test & train, sorted(test & train)[:5]
    assert not dev & train, sorted(dev & train)[:5]
    assert not dev & templates_used("test", probes=()) and not test & templates_used("dev", probes=())
    for rel in embedded.RELATIONS:
        for split in embedded.SPLITS:
            for rec in (r for r in records(split) if r["relation"] == rel.name):
                got = [template_of(p, rec["subject"]) for p in [rec["prompt"], *rec["rephrase_prompts"]]]
                assert got == list(rel.templates(split)) and rec["rephrase_prompt"] == rec["rephrase_prompts"][0]


def test_seen_template_prompts_are_the_train_templates():
    by_name = {rel.name: rel for rel in embedded.RELATIONS}
    for split in ("dev", "test"):
        for rec in records(split):
            seen = rec["seen_template_prompts"]
            assert [template_of(p, rec["subject"]) for p in seen] == list(by_name[rec["relation"]].templates("train"))
            assert not set(seen) & {rec["prompt"], *rec["rephrase_prompts"]}
    assert not any("seen_template_prompts" in rec for rec in records("train"))


def test_subject_occurs_in_prompt_and_rephrases_as_written():
    for split in embedded.SPLITS:
        for rec in records(split):
            subject = rec["subject"]
            for prompt in [rec["prompt"], *rec["rephrase_prompts"], *rec.get("seen_template_prompts", [])]:
                assert subject in prompt or (prompt.startswith(capitalised(subject)) and subject != capitalised(subject)), (subject, prompt)
            assert rec["id"] == f"{rec['relation']}:{subject_key(subject)}"


ARTICLE_IN_SUBJECT = ("capital", "official_language", "currency", "continent", "landmark_city", "university_city",
                      "organization_city", "mountain_country")


def test_no_article_before_a_subject_that_has_its_own():
    """Relations whose subjects carry their article ("the Eiffel Tower", "Princeton University")
    never add one: no "The Princeton University", no "the the"."""
    for split in embedded.SPLITS:
        for rec in records(split):
            for prompt in [rec["prompt"], *rec["rephrase_prompts"]]:
                assert not re.search(r"\b[Tt]he [Tt]he\b", prompt), prompt
                if rec["relation"] in ARTICLE_IN_SUBJECT and not rec["subject"].startswith("the "):
                    assert not re.search(r"\b[Tt]he " + re.escape(rec["subject"]), prompt), prompt


# --- aliases ------------------------------------------------------------------------------

def canonical_names():
    names = set()
    for rel in embedded.RELATIONS:
        for s, o in rel.pairs():
            names |= {s.lower(), subject_key(s).lower(), o.lower()}
    return names


def test_known_wrong_aliases_stay_out():
    assert "paul allen" not in {a.lower() for a in object_aliases("Bill Gates", "company_founder")}
    assert "england" not in {a.lower() for a in object_aliases("United Kingdom", "citizenship")}
    assert "australia" not in {a.lower() for a in object_aliases("Oceania", "continent")}
    assert "steve wozniak" not in {a.lower() for a in object_aliases("Steve Jobs", "company_founder")}
    assert "sergey brin" not in {a.lower() for a in object_aliases("Larry Page", "company_founder")}
    assert not {"kana", "hiragana", "katakana"} & set(object_aliases("kanji", "language_script"))


def test_an_alias_that_names_a_dataset_entity_names_the_same_one():
    names = canonical_names()
    relations = {o: rel.name for rel in embedded.RELATIONS for _, o in rel.pairs()}
    for obj, relation in relations.items():
        for alias in object_aliases(obj, relation):
            if alias.lower() in names:
                back = {a.lower() for a in object_aliases(alias, relations.get(alias, relation))}
                assert obj.lower() in back, f"{obj!r} -> {alias!r}, but {alias!r} is another entity of the dataset"


def test_equivalent_forms_are_declared_symmetric():
    for obj, aliases in OBJECT_ALIASES.items():
        for alias in aliases:
            if alias in OBJECT_ALIASES:
                assert obj in OBJECT_ALIASES[alias], (obj, alias)
    for pair in OVERLAPPING:
        a, b = sorted(pair)
        assert b not in OBJECT_ALIASES.get(a, []) and a not in OBJECT_ALIASES.get(b, [])


def test_new_target_shares_no_answer_with_the_truth():
    for split in embedded.SPLITS:
        for rec in records(split):
            new = {a.lower() for a in [rec["target_new"], *rec["target_aliases"]]}
            true = {a.lower() for a in rec["ground_truth"]}
            assert not new & true, rec["id"]
            assert frozenset({rec["target_new"], rec["ground_truth"][0]}) not in OVERLAPPING


def test_records_are_format_2():
    assert embedded.FORMAT_VERSION == 2
    assert all(rec["editnb_format"] == 2 for split in embedded.SPLITS for rec in records(split))
