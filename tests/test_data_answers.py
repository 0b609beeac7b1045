import pytest

from editnb.data import alias_groups, matches, normalize_answer, starts_with


def test_alias_group_shapes():
    assert alias_groups("Paris") == [["Paris"]]
    assert alias_groups(["Paris", "Paname"]) == [["Paris", "Paname"]]
    assert alias_groups([["Riga"], [], ["Latvia", " "]]) == [["Riga"], ["Latvia"]]
    with pytest.raises(ValueError, match="empty"):
        alias_groups([[], [""]])


def test_a_string_answer_is_never_split_into_characters():
    # EasyEdit's verify_answer iterates a string answer char by char, so "Rome" matched any text with an "r"
    assert not matches("The capital is Paris", "Rome")
    assert matches("It is Rome, of course", "Rome")


def test_and_across_groups_or_within():
    answer = [["Riga", "Rīga"], ["Latvia"]]
    assert matches("Riga, the capital of Latvia", answer)
    assert matches("Rīga in Latvia", answer)
    assert not matches("Riga", answer)


def test_squad_normalisation_and_whole_words():
    assert normalize_answer("  The  Eiffel-Tower, in PARIS!") == "eiffel tower in paris"
    assert normalize_answer("Brasília") == "brasilia"
    assert matches("the Netherlands", "Netherlands")
    assert not matches("Romania", "Rome")
    assert matches("São Paulo", "Sao Paulo")


def test_prefix_match():
    assert starts_with(" Paris. It is lovely", "Paris")
    assert not starts_with(" It is Paris", "Paris")
    assert starts_with(" the United Kingdom", ["United Kingdom", "UK"])
