"""The embedded dataset: counterfactual edits of real-world facts, generated deterministically.

Format 2: each split is asked with its own prompt templates (see ``templates.py``), so that
train, dev and test share neither subjects nor templates; dev and test records also carry
``seen_template_prompts``, their fact asked with the train templates.

``python -m editnb.data.embedded`` rewrites ``data/editnb_{train,dev,test}.json``; the files
are committed and a test checks that they regenerate byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

from ..paths import data_dir
from .aliases import fair_counterfactual, object_aliases
from .facts_culture import CULTURE_RELATIONS, LANGUAGE_SCRIPT
from .facts_people import PEOPLE_RELATIONS
from .facts_places import CITY_FACTS, COUNTRIES, EXTRA_CITY_COUNTRY, PLACE_RELATIONS
from .loading import load_requests
from .relations import fill, subject_key

RELATIONS = PLACE_RELATIONS + PEOPLE_RELATIONS + CULTURE_RELATIONS
SPLITS = {"train": 0.6, "dev": 0.1, "test": 0.3}
FORMAT_VERSION = 2
SEED = 0
N_NEIGHBORS = 2
N_UNRELATED = 2


def _table(text: str, key: int = 0, value: int = 1) -> dict[str, str]:
    rows = [[p.strip() for p in line.split("|")] for line in text.strip().splitlines()]
    return {r[key]: r[value] for r in rows if r[value] != "-"}


def lookups() -> dict[str, dict[str, str]]:
    """Tables that turn a new object into a follow-on answer (portability)."""
    city_country = _table(COUNTRIES, 1, 0) | _table(CITY_FACTS) | _table(EXTRA_CITY_COUNTRY) | {
        "Dublin": "Ireland", "New Haven": "United States", "Princeton": "United States",
        "Stratford-upon-Avon": "United Kingdom", "Honolulu": "United States",
    }
    country_continent = _table(COUNTRIES, 0, 4) | {
        "Tanzania": "Africa", "South Africa": "Africa", "United Arab Emirates": "Asia",
        "Ireland": "Europe", "Switzerland": "Europe", "Belgium": "Europe", "Singapore": "Asia",
    }
    language_script = dict(LANGUAGE_SCRIPT.pairs())
    return {"city_country": city_country, "country_continent": country_continent, "language_script": language_script}


def assign_splits(subjects: list[str], rng: random.Random) -> dict[str, str]:
    """Each subject (not each fact) goes to one split, so train and test never share a subject.

    Subjects are ordered by :func:`subject_key` before the seeded shuffle, which keeps v1's
    split although v2 gives some subjects an article ("the Eiffel Tower")."""
    order = sorted(subjects, key=subject_key)
    rng.shuffle(order)
    bounds, start = {}, 0.0
    for name, share in SPLITS.items():
        bounds[name] = (start, start + share)
        start += share
    return {s: next(n for n, (a, b) in bounds.items() if a <= i / len(order) < b) for i, s in enumerate(order)}


def _answer(obj: str, relation: str) -> list[str]:
    return [obj, *object_aliases(obj, relation)]


def build_records(seed: int = SEED) -> list[dict]:
    """Every edit request of the dataset, as editnb-format records (KnowEdit-shaped).

    A record of split S is asked with S's templates: its prompt, its rephrasings and its
    locality probes (the k-th probe of a kind uses the k-th template of S)."""
    rng = random.Random(seed)
    tables = lookups()
    facts = [(rel, s, o) for rel in RELATIONS for s, o in rel.pairs()]
    split_of = assign_splits(sorted({s for _, s, _ in facts}), rng)
    # Locality probes ask about train/dev subjects only, so that editing the whole test split
    # at once never edits a probe's own subject (it would then rightly change its answer).
    probe_facts = [f for f in facts if split_of[f[1]] != "test"]
    records = []
    for rel in RELATIONS:
        pairs = rel.pairs()
        objects = sorted({o for _, o in pairs})
        for subject, true in pairs:
            new = rng.choice([o for o in objects if fair_counterfactual(true, o, rel.name)])
            others = [(s, o) for r, s, o in probe_facts if r is rel and s != subject]
            neighbors = rng.sample(others, N_NEIGHBORS)
            unrelated = rng.sample([f for f in probe_facts if f[0] is not rel and f[1] != subject], N_UNRELATED)
            split = split_of[subject]
            prompts = [fill(t, subject) for t in rel.templates(split)]

            def probe(r, k, s, o, split=split):
                templates = r.templates(split)
                return {"prompt": fill(templates[k % len(templates)], s), "ground_truth": _answer(o, r.name)}

            record = {
                "editnb_format": FORMAT_VERSION,
                "id": f"{rel.name}:{subject_key(subject)}",
                "split": split,
                "relation": rel.name,
                "subject": subject,
                "prompt": prompts[0],
                "target_new": new,
                "target_aliases": object_aliases(new, rel.name),
                "ground_truth": _answer(true, rel.name),
                "rephrase_prompt": prompts[1],
                "rephrase_prompts": prompts[1:],
                "locality": {
                    "Neighborhood": [probe(rel, k, s, o) for k, (s, o) in enumerate(neighbors)],
                    "Unrelated": [probe(r, k, s, o) for k, (r, s, o) in enumerate(unrelated)],
                },
                "portability": {},
            }
            if split != "train":
                record["seen_template_prompts"] = [fill(t, subject) for t in rel.templates("train")]
            if rel.portability and new in tables[rel.portability[1]]:
                follow = tables[rel.portability[1]][new]
                record["portability"]["Reasoning"] = [
                    {"prompt": fill(rel.portability[0], subject), "ground_truth": [follow, *object_aliases(follow, "")]}
                ]
            records.append(record)
    return records


def split_path(split: str, root: Path | None = None) -> Path:
    return (root or data_dir()) / f"editnb_{split}.json"


def digest(splits=("train", "dev")) -> str:
    """A short hash of the embedded splits' files: part of the cache key of what is trained on them."""
    h = hashlib.sha256()
    for split in splits:
        h.update(split_path(split).read_bytes())
    return h.hexdigest()[:10]


def serialize(records: list[dict]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=1) + "\n"


def write_dataset(root: Path | None = None, seed: int = SEED) -> dict[str, Path]:
    """Write one JSON file per split; returns their paths."""
    records = build_records(seed)
    paths = {}
    for split in SPLITS:
        path = split_path(split, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(serialize([r for r in records if r["split"] == split]), encoding="utf-8")
        paths[split] = path
    return paths


def load_embedded(split: str = "test", n: int | None = None, relations=None):
    """Requests of one split of the embedded dataset; ``n`` takes an evenly spread subset."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
    requests = load_requests(split_path(split), format="editnb")
    if relations is not None:
        requests = [r for r in requests if r.relation in set(relations)]
    if n is not None and n < len(requests):
        step = len(requests) / n
        requests = [requests[int(i * step)] for i in range(n)]
    return list(requests)


def describe(records: list[dict]) -> str:
    """Counts for data/README.md: relations, requests and probes per split."""
    by_split = Counter(r["split"] for r in records)
    n_loc = sum(len(v) for r in records for v in r["locality"].values())
    n_port = sum(len(v) for r in records for v in r["portability"].values())
    n_reph = sum(len(r["rephrase_prompts"]) for r in records)
    subjects = {s: len({r["subject"] for r in records if r["split"] == s}) for s in SPLITS}
    return (
        f"{len({r['relation'] for r in records})} relations, {len(records)} requests "
        f"({', '.join(f'{s}: {by_split[s]} requests / {subjects[s]} subjects' for s in SPLITS)}); "
        f"{n_reph} paraphrases, {n_loc} locality probes, {n_port} portability probes"
    )


if __name__ == "__main__":
    out = write_dataset(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(describe(build_records()))
    for split, path in out.items():
        print(f"wrote {path}")
