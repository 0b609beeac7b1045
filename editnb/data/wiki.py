"""Real English text for statistics: the Wikipedia sample shipped in the ``gensim`` wheel.

ROME, MEMIT and AlphaEdit need the second moment of an MLP's inputs over ordinary text.  No
corpus can be downloaded at run time, but gensim's test data holds 107 articles of English
Wikipedia (about half a million tokens); gensim's own wiki utilities strip the markup.
"""
from __future__ import annotations

import bz2
import re
from functools import lru_cache

from ..models import wheel_file

WIKI_FILE = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def wiki_path():
    path, _ = wheel_file("gensim", WIKI_FILE, "the Wikipedia sample used for covariance statistics")
    return path


def clean(text: str) -> str:
    """Markup-free article text with blank lines, list bullets and leftover table rows removed."""
    from gensim.corpora.wikicorpus import filter_wiki

    lines = []
    for line in filter_wiki(text).splitlines():
        line = re.sub(r"'{2,}", "", line)  # bold and italic quotes survive filter_wiki
        line = re.sub(r"\s+", " ", line.strip(" *#:;|=!")).strip()
        if len(line.split()) >= 4:  # headings, list stubs and table debris are shorter
            lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def wiki_articles() -> tuple[str, ...]:
    """Every main-namespace article of the sample, cleaned, in file order (redirects dropped)."""
    from gensim.corpora.wikicorpus import extract_pages

    with bz2.open(wiki_path(), "rb") as f:
        texts = [clean(text) for _, text, _ in extract_pages(f, filter_namespaces=("0",))]
    return tuple(t for t in texts if t and not t.lower().startswith("redirect"))
