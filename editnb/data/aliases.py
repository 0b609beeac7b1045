"""Accepted alternative answers for objects of the embedded dataset."""
from __future__ import annotations

OBJECT_ALIASES = {
    "United States": ["United States of America", "USA", "America"],
    "United Kingdom": ["UK", "Britain", "Great Britain", "England"],
    "Washington, D.C.": ["Washington"],
    "New York City": ["New York"],
    "Czech Republic": ["Czechia"],
    "Kyiv": ["Kiev"],
    "Oceania": ["Australia"],
    "football": ["soccer"],
    "Formula One": ["Formula 1", "F1", "motor racing"],
    "sprinting": ["athletics", "track and field", "sprint"],
    "ice hockey": ["hockey"],
    "film director": ["director", "filmmaker"],
    "novelist": ["writer", "author"],
    "playwright": ["poet", "dramatist", "writer"],
    "actress": ["actor"],
    "actor": ["actress"],
    "cosmonaut": ["astronaut"],
    "astronaut": ["cosmonaut"],
    "tenor": ["opera singer", "singer"],
    "psychoanalyst": ["psychologist", "neurologist", "psychiatrist"],
    "naturalist": ["biologist", "geologist"],
    "Chinese": ["Mandarin"],
    "Persian": ["Farsi"],
    "yuan": ["renminbi"],
    "pound": ["pound sterling", "sterling"],
    "Ge'ez": ["Ethiopic"],
    "kanji": ["kana", "hiragana", "katakana", "Chinese characters"],
    "Chinese characters": ["hanzi", "Chinese script"],
    "Leonardo da Vinci": ["Leonardo", "da Vinci"],
    "J. R. R. Tolkien": ["Tolkien"],
    "J. D. Salinger": ["Salinger"],
    "Bong Joon-ho": ["Bong"],
    "Yukihiro Matsumoto": ["Matsumoto", "Matz"],
    "Bill Gates": ["Paul Allen"],
    "Steve Jobs": ["Steve Wozniak"],
    "Larry Page": ["Sergey Brin"],
    "Jeff Bezos": ["Bezos"],
    "Jack Ma": ["Ma Yun"],
    "Adolf Dassler": ["Adi Dassler"],
}

PERSON_OBJECT_RELATIONS = ("company_founder", "book_author", "painting_painter", "film_director", "software_creator")


def object_aliases(obj: str, relation: str) -> list[str]:
    """Aliases of ``obj``; for people, the surname too (``"Orwell"`` for ``"George Orwell"``)."""
    aliases = list(OBJECT_ALIASES.get(obj, []))
    words = obj.split()
    if relation in PERSON_OBJECT_RELATIONS and len(words) > 1 and len(words[-1]) > 3 and words[-1] not in aliases:
        aliases.append(words[-1])
    return aliases
