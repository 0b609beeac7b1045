"""Accepted alternative answers for objects of the embedded dataset.

An alias names the *same* entity as its object, never a related one: a co-founder, a
neighbouring profession, a part of a country or a country of a continent is another entity
and would credit a wrong answer.  Accepted kinds of alias:

- other names of the entity (USA, Czechia, Kiev, soccer, renminbi, Farsi, Ethiopic, hanzi);
- a person's surname (added by :func:`object_aliases`), unless the surname is also the name
  of another entity of the dataset (Honda, Ferrari, Dell: the founders' companies);
- for occupations, the everyday name of the occupation (novelist -> writer, author;
  film director -> director, filmmaker), provided it is not itself an object of the dataset;
- gendered or equivalent forms (actor/actress, astronaut/cosmonaut), declared in both
  directions (a test checks that they are symmetric).

Removed in v2 as naming another entity: Bill Gates -> Paul Allen, Steve Jobs -> Steve Wozniak,
Larry Page -> Sergey Brin (co-founders); United Kingdom -> England (a constituent country);
Oceania -> Australia (a country of it); United States -> America (also the name of the
continents: "North America" would match); kanji -> kana, hiragana, katakana (other Japanese
scripts) and kanji -> Chinese characters (kanji are the Chinese characters *as used in Japanese*,
while "Chinese characters" is the object of Chinese, so the two are kept apart as
OVERLAPPING); playwright -> poet; psychoanalyst -> psychologist, neurologist, psychiatrist;
naturalist -> biologist, geologist; tenor -> singer (an object of its own); Formula One ->
motor racing and sprinting -> athletics, track and field (the wider sport); pound -> pound
sterling, sterling (the object "pound" is also Egypt's currency).
"""
from __future__ import annotations

OBJECT_ALIASES = {
    "United States": ["United States of America", "USA"],
    # "Britain" and "Great Britain" are kept: strictly they name the island, but in everyday
    # English (and in the state's own name, "United Kingdom of Great Britain and Northern
    # Ireland", and its Olympic team) they name the state; the dataset has no fact whose
    # answer is the island, and every UK subject of the dataset lies on it.
    "United Kingdom": ["UK", "Britain", "Great Britain"],
    # The short names of the cities; the states of the same names are no object of the dataset.
    "Washington, D.C.": ["Washington"],
    "New York City": ["New York"],
    "Czech Republic": ["Czechia"],
    "Kyiv": ["Kiev"],
    "football": ["soccer"],
    "Formula One": ["Formula 1", "F1"],
    "sprinting": ["sprint"],
    # "hockey" is ice hockey in North American usage; field hockey is no object of the dataset.
    "ice hockey": ["hockey"],
    "film director": ["director", "filmmaker"],
    "novelist": ["writer", "author"],
    "playwright": ["dramatist", "writer"],
    "actress": ["actor"],  # symmetric
    "actor": ["actress"],  # symmetric
    "cosmonaut": ["astronaut"],  # symmetric
    "astronaut": ["cosmonaut"],  # symmetric
    "tenor": ["opera singer"],
    "Chinese": ["Mandarin"],
    "Persian": ["Farsi"],
    "yuan": ["renminbi"],
    "Ge'ez": ["Ethiopic"],
    "Chinese characters": ["hanzi", "Chinese script"],
    "Leonardo da Vinci": ["Leonardo", "da Vinci"],
    "Vincent van Gogh": ["van Gogh"],
    "J. R. R. Tolkien": ["Tolkien"],
    "J. D. Salinger": ["Salinger"],
    "Bong Joon-ho": ["Bong"],
    "Yukihiro Matsumoto": ["Matsumoto", "Matz"],
    "Jack Ma": ["Ma Yun"],
    "Adolf Dassler": ["Adi Dassler"],
}

# Pairs of distinct objects of which one is a kind of the other: neither is an alias of the
# other, but neither is a fair counterfactual for the other either (a tenor *is* a singer).
OVERLAPPING = {frozenset({"tenor", "singer"}), frozenset({"kanji", "Chinese characters"})}

# Surnames that are also the name of another entity of the dataset (the founder's company).
SURNAMES_NAMING_ANOTHER_ENTITY = {"Dell", "Ford", "Disney", "Honda", "Porsche", "Ferrari", "Boeing", "Lamborghini"}

PERSON_OBJECT_RELATIONS = ("company_founder", "book_author", "painting_painter", "film_director", "software_creator")


def object_aliases(obj: str, relation: str) -> list[str]:
    """Aliases of ``obj``; for people, the surname too (``"Orwell"`` for ``"George Orwell"``)."""
    aliases = list(OBJECT_ALIASES.get(obj, []))
    words = obj.split()
    surname = words[-1]
    if (relation in PERSON_OBJECT_RELATIONS and len(words) > 1 and len(surname) > 3
            and surname not in aliases and surname not in SURNAMES_NAMING_ANOTHER_ENTITY):
        aliases.append(surname)
    return aliases


def fair_counterfactual(true: str, new: str, relation: str) -> bool:
    """Whether ``new`` may replace ``true``: no shared answer and no overlap of meaning."""
    accepted = {a.lower() for a in [true, *object_aliases(true, relation)]}
    offered = {a.lower() for a in [new, *object_aliases(new, relation)]}
    return not accepted & offered and frozenset({true, new}) not in OVERLAPPING
