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
    rf"\b(?P<word>{_WORD_PATTERN})(?P<plural>s)?\s+(?P<numbers>{_NUMBER}(?:{_JOINER}{_NUMBER})*)(?![\w])"
    # A cited title is only looked at, not consumed, so citations inside it still match.
    r"(?=\s*\((?P<title>[^()]{3,80})\))?"
)
_ONE_NUMBER = re.compile(rf"(?P<number>{NUMBER_PATTERN})(?:\s?\((?P<part>[a-z0-9]{{1,4}})\))?")
_RANGE_DASH = re.compile(r"^\s*(?:[\u2013\u2014-]|to)\s*$")
# An equation number cited in running text, "(2.4)". Single numbers such as "(3)"
# are left out because they are mostly list markers and small quantities.
_EQUATION_CITATION = re.compile(r"(?<![\w)])\((?P<number>\d+\.\d+)\)")
# A printed equation tag: "(2.4)" at the end of a line, after the formula or alone.
_EQUATION_TAG = re.compile(r"(?:^|\s)\((?P<number>\d+\.\d+)\)\s*$")
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
        self._by_kind_number: dict[tuple[str, str], list[Entity]] = {}
        self._by_number: dict[str, set[str]] = {}
        self._by_equation: dict[str, list[Entity]] = {}
        self._tags_of = {item.entity.id: item.equation_tags for item in items}
        for item in items:
            entity = item.entity
            if entity.number:
                self._by_kind_number.setdefault((entity.kind, entity.number), []).append(entity)
                self._by_number.setdefault(entity.number, set()).add(entity.id)
            for tag in item.equation_tags:
                self._by_equation.setdefault(tag, []).append(entity)

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
                target = self._resolve(kind, number, match.group("title"))
                if target and target != source.id:
                    found.append(Reference(source.id, target, surface, page, in_proof))
        own_tags = set(self._tags_of.get(source.id, ()))
        for match in _EQUATION_CITATION.finditer(text.text):
            if match.group("number") in own_tags:
                # The item prints this tag itself, so the match is the tag, not a citation.
                continue
            target = _latest_before(self._by_equation.get(match.group("number"), []), source)
            if target and target != source.id:
                page = text.page_at(match.start())
                found.append(Reference(source.id, target, match.group(0), page, in_proof))
        return found

    def _resolve(self, kind: str, number: str, title: str | None) -> str | None:
        candidates = self._by_kind_number.get((kind, number), [])
        if len(candidates) > 1 and title:
            # Two counters can print the same number, so a cited title picks the item.
            expected_title = _title_key(title)
            for entity in candidates:
                if entity.title and _title_key(entity.title).startswith(expected_title[:20]):
                    return entity.id
        if candidates:
            return candidates[0].id
        # Books that number all kinds with one counter are sometimes cited with another
        # kind word ("Theorem 2.3" for a proposition). Only dotted numbers that name a
        # single item are accepted, because plain numbers ("Example 1") collide across counters.
        others = self._by_number.get(number, set())
        if "." in number and len(others) == 1:
            return next(iter(others))
        return None


def _latest_before(entities: list[Entity], source: Entity) -> str | None:
    """Pick the last item printing an equation tag before `source`, else the first one.

    Books that restart or reuse equation numbers mean the nearest earlier tag.
    """
    earlier = [entity for entity in entities if entity.order < source.order]
    if earlier:
        return earlier[-1].id
    return entities[0].id if entities else None


def _title_key(title: str) -> str:
    return re.sub(r"\W+", " ", title.lower()).strip()


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
        match = _EQUATION_TAG.search(text)
        if match:
            tags.append(match.group("number"))
    return tags
