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
_REF = re.compile(r"^\s*(?:(?P<kind>[A-Za-z]+)\.?\s*)?(?P<number>[0-9A-Za-z][0-9A-Za-z.\-]*?)\.?\s*$")


def parse_ref(ref: str) -> tuple[str | None, str]:
    """Split "Lemma 3.2" into ("lemma", "3.2"); a bare "3.2" has no kind."""
    match = _REF.match(ref)
    if not match:
        raise NotFoundError(f"cannot read item reference {ref!r}: write it as printed, e.g. 'Lemma 3.2'")
    kind_word = (match.group("kind") or "").lower()
    number = match.group("number")
    if not kind_word:
        return None, number
    if kind_word.endswith("s") and kind_word[:-1] in KINDS:
        kind_word = kind_word[:-1]
    kind = _KIND_ALIASES.get(kind_word, kind_word)
    if kind not in KINDS:
        raise NotFoundError(
            f"unknown item kind {match.group('kind')!r} in {ref!r}: use one of {', '.join(KINDS)}"
        )
    return kind, number


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
