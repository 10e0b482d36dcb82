"""exporter.probes.spse_page's faster paths give the answers of the plain definitions they replace.

The page checks as a whole are tested in tests/integration/test_spse.py; here, properties over generated text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.probes.spse_page import RELATED_WORDS, TOKEN_EDGES, URL_LIKE_RE, Echoes, _has_own_words

FRAGMENTS = st.sampled_from([*RELATED_WORDS, "LPSE", "kabupaten", "x", " ", " ", ".", "/", "-", "(", ")", ":",
                             "=", "a.b", "@", "lpse.contoh.example", "eproc4", "é"])


def own_words_by_every_token(text: str, echoes: Echoes) -> bool:
    """The definition: some token of the page, edges stripped, holds a related word and is no URL or echo."""
    tokens = (token.strip(TOKEN_EDGES) for token in text.split(" "))
    return any(token and not URL_LIKE_RE.search(token) and token not in echoes.parts
               and any(word in token for word in RELATED_WORDS) for token in tokens)


@settings(max_examples=400, deadline=None)
@given(fragments=st.lists(FRAGMENTS, max_size=30),
       url=st.sampled_from(["https://lpse.contoh.example/eproc4", "http://hotspot.example/login?dst=lpse",
                            "https://192.0.2.10/eproc/spse-pengadaan"]))
def test_own_words_looks_only_around_each_word_with_the_same_answer(fragments, url):
    text = " ".join("".join(fragments).split())  # as page_text gives it: single spaces, none at the ends
    echoes = Echoes([url])
    assert _has_own_words(text, echoes) == own_words_by_every_token(text, echoes), text
