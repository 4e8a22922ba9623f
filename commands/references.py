"""Resolve the printed form a user types ("Lemma 3.2", "Ex. 3.4", "3.4") to a stored item."""

from __future__ import annotations

import difflib
import re

from kg.errors import NotFoundError
from kg.models import KINDS, Entity
from kg.store import GraphStore

_KIND_ALIASES = {
    "def": "definition",
    "defn": "definition",
    "thm": "theorem",
    "lem": "lemma",
    "prop": "proposition",
    "cor": "corollary",
    "alg": "algorithm",
    "algo": "algorithm",
    "ex": "exercise",
    "exer": "exercise",
    "eg": "example",
    "rem": "remark",
    "not": "notation",
}
# A printed number: "3", "2.4", "B.1", "5.3.7", "A"; a letter counts only before a dot or digit.
_NUMBER = r"(?:\d|[A-Z](?=[.\d]|$))[0-9A-Za-z.\-]*"
_KIND_AND_NUMBER = re.compile(rf"(?P<kind>[A-Za-z]+)(?:\.\s*|\s+)(?P<number>{_NUMBER})")


def parse_ref(ref: str) -> tuple[str | None, str]:
    """Split "Lemma 3.2" into ("lemma", "3.2"); a bare "3.2" has no kind."""
    text = ref.strip().rstrip(".")
    if re.fullmatch(_NUMBER, text):
        return None, text
    match = _KIND_AND_NUMBER.fullmatch(text)
    if not match:
        word = _kind_of(text.lower())
        if word in KINDS:
            raise NotFoundError(f"{ref!r} has no number: write it as printed, e.g. '{word.capitalize()} 3.2'")
        raise NotFoundError(f"cannot read item reference {ref!r}: write it as printed, e.g. 'Lemma 3.2'")
    kind = _kind_of(match.group("kind").lower())
    if kind not in KINDS:
        raise NotFoundError(
            f"unknown item kind {match.group('kind')!r} in {ref!r}: use one of {', '.join(KINDS)}"
        )
    return kind, match.group("number")


def _kind_of(word: str) -> str:
    """Map a head word, plural or abbreviation ("Lemmas", "Thm") to its kind name."""
    if word.endswith("s") and word[:-1] in KINDS:
        word = word[:-1]
    return _KIND_ALIASES.get(word, word)


def resolve_item(store: GraphStore, book_id: str, ref: str) -> Entity:
    """Find the one item of `book_id` that `ref` names, or raise with the closest matches."""
    summary = store.book(book_id)  # raises NotFoundError listing how to see the books
    if ref.startswith(f"{book_id}:"):
        return store.entity(ref)

    kind, number = parse_ref(ref)
    matches = store.find_entities(book_id, number, kind)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        choices = " or ".join(f"'{entity.id}' ({entity.label}, page {entity.page})" for entity in matches)
        fix = "give the item id" if kind else "add the kind, such as 'Lemma 3.2', or give the item id"
        raise NotFoundError(f"{ref!r} names several items in {book_id}: {fix}: {choices}")

    labels = [entity.label for entity in store.entities(book_id)]
    requested = f"{kind.capitalize()} {number}" if kind else number
    close = difflib.get_close_matches(requested, labels, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    if not labels:
        hint = "; the book has no items"
    raise NotFoundError(f"no {requested} in {summary.book.id}{hint}")
