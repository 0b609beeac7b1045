import random
from pathlib import Path

import pytest

from editnb.data import load_requests
from editnb.data import embedded
from editnb.paths import repo_root

REAL = repo_root().parent / "shared" / "data" / "real"
REAL_FILES = sorted(REAL.glob("*.json")) if REAL.is_dir() else []


@pytest.mark.skipif(not REAL_FILES, reason="../shared/data/real/ is not present in this checkout")
@pytest.mark.parametrize("path", [p for p in REAL_FILES if p.name != "SOURCES.json"], ids=lambda p: p.name)
def test_real_samples_load_completely(path):
    import json

    n_records = len(json.loads(path.read_text()))
    reqs = load_requests(path)
    assert not reqs.skipped and len(reqs) == n_records
    assert all(r.prompt.strip() and r.target_new.strip() for r in reqs)
    assert len({r.id for r in reqs}) == len(reqs)


def test_embedded_regenerates_byte_identically(tmp_path):
    written = embedded.write_dataset(tmp_path)
    for split, path in written.items():
        assert path.read_bytes() == embedded.split_path(split).read_bytes(), f"data/{path.name} is stale: run python -m editnb.data.embedded"


def test_embedded_splits_are_subject_disjoint_and_large_enough():
    splits = {s: embedded.load_embedded(s) for s in embedded.SPLITS}
    subjects = {s: {r.subject for r in reqs} for s, reqs in splits.items()}
    assert not subjects["train"] & subjects["test"]
    assert not subjects["dev"] & (subjects["train"] | subjects["test"])
    everything = [r for reqs in splits.values() for r in reqs]
    assert len(everything) >= 500 and len({r.relation for r in everything}) >= 25
    assert len({r.id for r in everything}) == len(everything)
    for req in everything:
        assert len(req.rephrase_prompts) >= 2 and len(req.locality) >= 3
        assert {p.kind for p in req.locality} == {"neighborhood", "unrelated"}
        assert req.target_new not in req.ground_truth[0]
        assert all(req.subject not in p.prompt for p in req.locality)
    assert sum(bool(r.portability) for r in everything) > 0.3 * len(everything)


def test_embedded_new_target_has_the_same_type():
    by_relation = {}
    for rel in embedded.RELATIONS:
        by_relation[rel.name] = {o for _, o in rel.pairs()}
    for req in embedded.load_embedded("train"):
        assert req.target_new in by_relation[req.relation]


def test_load_embedded_subset_is_spread_and_deterministic():
    a = embedded.load_embedded("test", n=20)
    b = embedded.load_embedded("test", n=20)
    assert [r.id for r in a] == [r.id for r in b] and len(a) == 20
    assert len({r.relation for r in a}) >= 10
    with pytest.raises(ValueError, match="split"):
        embedded.load_embedded("validation")
