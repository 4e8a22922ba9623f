"""Find explicit citations of items ("by Lemma 3.2", "Theorems 2.1 and 2.3", "(2.4)")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.models import Entity, Reference

from ingest.items import HEAD_WORDS, NUMBER_PATTERN
from ingest.text import PagedText

_WORD_PATTERN = "|".join(sorted((word.capitalize() for word in HEAD_WORDS), key=len, reverse=True))
_NUMBER = rf"(?:{NUMBER_PATTERN})(?:\s?\([a-z0-9]{{1,4}}\))?"
_JOINER = r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|to)\s|[\u2013\u2014-])\s*"
# "Lemma 3.2", "Lemmas 4.1–4.3", "Theorems 2.1, 2.2 and 2.5", "Definition 1.4(b)".
_CITATION = re.compile(
    rf"\b(?P<word>{_WORD_PATTERN})(?P<plural>s)?\.?\s+(?P<numbers>{_NUMBER}(?:{_JOINER}{_NUMBER})*)(?![\w])"
)
_ONE_NUMBER = re.compile(rf"(?P<number>{NUMBER_PATTERN})(?:\s?\((?P<part>[a-z0-9]{{1,4}})\))?")
_RANGE_DASH = re.compile(r"^\s*(?:[\u2013\u2014-]|to)\s*$")
# An equation number cited in running text, "(2.4)". Single numbers such as "(3)"
# are left out because they are mostly list markers and small quantities.
_EQUATION_CITATION = re.compile(r"(?<![\w)])\((?P<number>\d+\.\d+)\)")
# A printed equation tag: a line that holds nothing but "(2.4)".
_EQUATION_TAG = re.compile(r"^\s*\((?P<number>\d+\.\d+)\)\s*$")
# The widest range "Lemmas 4.1–4.9" that is expanded item by item.
_MAX_RANGE = 50


@dataclass
class ItemText:
    """The statement and proof text of one entity, as the reference finder reads them."""

    entity: Entity
    statement: PagedText
    proof: PagedText
    equation_tags: list[str]


class ReferenceResolver:
    """Resolve printed citations to entities of the same book."""

    def __init__(self, items: list[ItemText]) -> None:
        self.items = items
        self._by_kind_number: dict[tuple[str, str], str] = {}
        self._by_number: dict[str, set[str]] = {}
        self._by_equation: dict[str, str] = {}
        for item in items:
            entity = item.entity
            if entity.number:
                # The first item printed with a number wins when a number repeats.
                self._by_kind_number.setdefault((entity.kind, entity.number), entity.id)
                self._by_number.setdefault(entity.number, set()).add(entity.id)
            for tag in item.equation_tags:
                self._by_equation.setdefault(tag, entity.id)

    def find_all(self) -> list[Reference]:
        references: list[Reference] = []
        for item in self.items:
            seen: set[tuple[str, bool]] = set()
            for text, in_proof in ((item.statement, False), (item.proof, True)):
                for reference in self._find_in(item.entity, text, in_proof):
                    key = (reference.target_id, reference.in_proof)
                    if key not in seen:
                        seen.add(key)
                        references.append(reference)
        return references

    def _find_in(self, source: Entity, text: PagedText, in_proof: bool) -> list[Reference]:
        found: list[Reference] = []
        for match in _CITATION.finditer(text.text):
            kind = HEAD_WORDS[match.group("word").lower()]
            page = text.page_at(match.start())
            surface = re.sub(r"\s+", " ", match.group(0))
            for number in _expand_numbers(match.group("numbers")):
                target = self._resolve(kind, number)
                if target and target != source.id:
                    found.append(Reference(source.id, target, surface, page, in_proof))
        for match in _EQUATION_CITATION.finditer(text.text):
            target = self._by_equation.get(match.group("number"))
            if target and target != source.id:
                page = text.page_at(match.start())
                found.append(Reference(source.id, target, match.group(0), page, in_proof))
        return found

    def _resolve(self, kind: str, number: str) -> str | None:
        target = self._by_kind_number.get((kind, number))
        if target:
            return target
        # Books that number all kinds with one counter are often cited with another
        # kind word ("Theorem 2.3" for a proposition); accept only an unambiguous number.
        candidates = self._by_number.get(number, set())
        if len(candidates) == 1:
            return next(iter(candidates))
        return None


def _expand_numbers(numbers: str) -> list[str]:
    """Split "4.1–4.3" or "2.1, 2.2 and 2.5" into single numbers, expanding ranges."""
    matches = list(_ONE_NUMBER.finditer(numbers))
    result: list[str] = []
    for index, match in enumerate(matches):
        number = match.group("number")
        if index > 0 and _RANGE_DASH.match(numbers[matches[index - 1].end() : match.start()]):
            result.extend(_range_between(matches[index - 1].group("number"), number))
        result.append(number)
    return list(dict.fromkeys(result))


def _range_between(first: str, last: str) -> list[str]:
    """Return the numbers strictly between `first` and `last` when they share a prefix."""
    first_prefix, _, first_tail = first.rpartition(".")
    last_prefix, _, last_tail = last.rpartition(".")
    if first_prefix != last_prefix or not first_tail.isdigit() or not last_tail.isdigit():
        return []
    low, high = int(first_tail), int(last_tail)
    if high - low > _MAX_RANGE:
        return []
    prefix = f"{first_prefix}." if first_prefix else ""
    return [f"{prefix}{value}" for value in range(low + 1, high)]


def equation_tags(lines_text: list[str]) -> list[str]:
    """Return the equation numbers printed as tags among the given line texts."""
    tags = []
    for text in lines_text:
        match = _EQUATION_TAG.match(text)
        if match:
            tags.append(match.group("number"))
    return tags
