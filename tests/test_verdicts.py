"""The three verdicts on hand-written continuations, stop strings inside answers included."""
import pytest

from editnb.evaluate import EvalConfig
from editnb.evaluate.verdicts import answer_end, verdict, verdicts

STOPS = (".", "\n")


@pytest.mark.parametrize("text, answer, prefix, exact, contains", [
    (" Paris", "Paris", True, True, True),
    (" Paris.", "Paris", True, True, True),
    (" Paris. It is a big city.", "Paris", True, True, True),
    (" Paris, the capital.", "Paris", True, False, True),
    (" zloty, which is the official currency of Ghana", "zloty", True, False, True),
    (" Athens Athens Athens", "Athens", True, False, True),
    (" tenor saxophonist", "tenor", True, False, True),  # prefix reads words: a known limit, exact rejects it
    (" It is Paris.", "Paris", False, False, True),
    (" Parisian food", "Paris", False, False, False),
    (" London. Paris", "Paris", False, False, False),  # after the stop nothing counts
    ("\nParis", "Paris", True, True, True),  # a leading newline is not a stop
    (" the Eiffel Tower", "Eiffel Tower", True, True, True),  # articles are ignored
    (" Brasilia", "Brasília", True, True, True),  # accents are ignored
    (" USA!", [["United States", "USA"]], True, True, True),
    (" Paris and London", [["Paris"], ["London"]], True, True, True),
    (" London and Paris", [["Paris"], ["London"]], False, False, True),
    (" Paris", [["Paris"], ["London"]], False, False, False),
])
def test_verdicts_on_hand_written_continuations(text, answer, prefix, exact, contains):
    v = verdicts(text, answer, STOPS)
    assert (v["prefix"], v["exact"], v["contains"]) == (prefix, exact, contains), v


@pytest.mark.parametrize("text, answer, cut", [
    (" F. Scott Fitzgerald.", "F. Scott Fitzgerald", " F. Scott Fitzgerald"),
    (" F. Scott Fitzgerald. He wrote it", "F. Scott Fitzgerald", " F. Scott Fitzgerald"),
    (" St. Petersburg, on the Neva", "St. Petersburg", " St. Petersburg, on the Neva"),
    (" Washington D.C. It is the capital", [["Washington, D.C.", "Washington"]], " Washington D.C"),
    (" J. R. R. Tolkien\nmore", "J. R. R. Tolkien", " J. R. R. Tolkien"),
    (" F. Kafka", "F. Scott Fitzgerald", " F"),  # no alias spells it: the first stop ends the answer
    (" Mr. Smith", "Paris", " Mr"),
])
def test_a_stop_string_inside_an_answer_does_not_end_it(text, answer, cut):
    assert text[:answer_end(text, answer, STOPS)] == cut
    assert verdicts(text, answer, STOPS)["answer_text"] == cut


def test_stop_strings_inside_answers_are_exact_matches():
    assert verdict(" F. Scott Fitzgerald.", "F. Scott Fitzgerald", "exact")
    assert verdict(" St. Petersburg.", "St. Petersburg", "exact")
    assert verdict(" Washington D.C.", [["Washington, D.C."]], "exact")
    assert not verdict(" F. Scott Fitzgerald was American", "F. Scott Fitzgerald", "exact")


def test_match_is_checked():
    with pytest.raises(ValueError, match="match"):
        verdict(" Paris", "Paris", "fuzzy")
    with pytest.raises(ValueError, match="match"):
        EvalConfig(match="fuzzy")
