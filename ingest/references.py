"""Find explicit citations of items ("by Lemma 3.2", "Theorems 2.1 and 2.3", "(2.4)") and sections ("§1.7", "Chapter 4")."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from kg.models import Entity, Reference, Section, SectionReference

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
# "Section 2.3", "Sections 2.1 and 2.3", "Sect. 4", "§1.7", "§§2.1–2.3".
_SECTION_NUMBER = r"(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)+)"
_SECTION_CITATION = re.compile(
    rf"(?:\b(?:Sections?|Sects?\.|Secs?\.)\s+|§§?\s*)"
    rf"(?P<numbers>{_SECTION_NUMBER}(?:{_JOINER}(?:§\s*)?{_SECTION_NUMBER})*)(?![\w])"
)
# An appendix is numbered by a letter ("Appendix A", "Appendix B.2") or like a chapter.
_APPENDIX_NUMBER = r"(?:[A-Z](?:\.\d+)*|\d+(?:\.\d+)*)"
_ONE_SECTION_NUMBER = re.compile(rf"(?P<number>{_APPENDIX_NUMBER})")


def _named_citation(singular: str, plural: str, number: str) -> re.Pattern[str]:
    """Compile a citation by the word `singular` or `plural` followed by section numbers.

    Only the plural takes a list or a range, so "Chapter 7, 3 pivots" cites chapter 7 alone.
    """
    return re.compile(
        rf"\b(?:(?P<plural>{plural})|{singular})\s+"
        rf"(?P<numbers>(?(plural){number}(?:{_JOINER}{number})*|{number}))(?![\w])"
    )


# "see section 2.3", "Chapter 4", "chapters 2 and 3", "Appendix A", "Appendices A and B".
# The capitalized "Section" is read by _SECTION_CITATION.
_NAMED_SECTION_CITATIONS = (
    _named_citation("section", "sections", _SECTION_NUMBER),
    _named_citation("[Cc]hapter", "[Cc]hapters", r"\d+"),
    _named_citation("[Aa]ppendix", "[Aa]ppendices", _APPENDIX_NUMBER),
)
# A lower-case "section", "chapter" or "appendix" is also an ordinary noun ("the cross
# section 2"), so it is a citation only after one of these words or an opening bracket.
# NOTE: "in" is on the list, so "the load in section 2 of the beam" still reads as a citation.
_CITING_WORDS = frozenset({"see", "cf", "in", "from", "also", "and", "or"})
_WORD_BEFORE = re.compile(r"(?:(?P<word>\w+)\.?|(?P<mark>[(\[]))\s*$")
# The widest range "Lemmas 4.1–4.9" that is expanded item by item.
_MAX_RANGE = 50
# A book numbers all kinds with one counter when at most this share of its dotted
# numbers is printed by items of two kinds.
_SHARED_COUNTER_MAX_COLLISIONS = 0.05


@dataclass
class ItemText:
    """The statement and proof text of one entity, as the reference finder reads them.

    `equation_tags` are the tags printed in the statement, which other items cite
    as "(2.4)". `proof_tags` are printed in the proof: a citation of one of them
    elsewhere names an intermediate step, not the item's claim, so it is not
    resolved to the item. Both are skipped when the item's own text shows them.
    """

    entity: Entity
    statement: PagedText
    proof: PagedText
    equation_tags: list[str]
    proof_tags: list[str] = field(default_factory=list)


class ReferenceResolver:
    """Resolve printed citations to entities of the same book."""

    def __init__(self, items: list[ItemText]) -> None:
        self.items = items
        self._by_kind_number: dict[tuple[str, str], list[Entity]] = {}
        self._by_number: dict[str, set[str]] = {}
        self._by_equation: dict[str, list[Entity]] = {}
        self._tags_of = {item.entity.id: item.equation_tags + item.proof_tags for item in items}
        for item in items:
            entity = item.entity
            if entity.number:
                self._by_kind_number.setdefault((entity.kind, entity.number), []).append(entity)
                self._by_number.setdefault(entity.number, set()).add(entity.id)
            for tag in item.equation_tags:
                self._by_equation.setdefault(tag, []).append(entity)
        self._shared_counter = _uses_shared_counter(self._by_kind_number)

    def find_all(self) -> list[Reference]:
        references: list[Reference] = []
        for item in self.items:
            seen: set[tuple[str, bool]] = set()
            # A printed label that a cited title resolved means the same item when
            # the same source cites it again without the title.
            resolved: dict[tuple[str, str], str] = {}
            for text, in_proof in ((item.statement, False), (item.proof, True)):
                for reference in self._find_in(item.entity, text, in_proof, resolved):
                    key = (reference.target_id, reference.in_proof)
                    if key not in seen:
                        seen.add(key)
                        references.append(reference)
        return references

    def _find_in(
        self, source: Entity, text: PagedText, in_proof: bool, resolved: dict[tuple[str, str], str]
    ) -> list[Reference]:
        found: list[Reference] = []
        line_starts = set(text.line_starts)
        for match in _CITATION.finditer(text.text):
            if _is_line_label(text.text, match, line_starts):
                continue
            kind = HEAD_WORDS[match.group("word").lower()]
            page = text.page_at(match.start())
            surface = re.sub(r"\s+", " ", match.group(0))
            for number in _expand_numbers(match.group("numbers")):
                target = self._resolve(kind, number, match.group("title"), resolved)
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

    def _resolve(
        self, kind: str, number: str, title: str | None, resolved: dict[tuple[str, str], str]
    ) -> str | None:
        candidates = self._by_kind_number.get((kind, number), [])
        if len(candidates) > 1:
            # Two counters can print the same number, so a cited title picks the item.
            if title:
                expected_title = _title_key(title)
                for entity in candidates:
                    if entity.title and _title_key(entity.title).startswith(expected_title[:20]):
                        resolved[(kind, number)] = entity.id
                        return entity.id
            if (kind, number) in resolved:
                return resolved[(kind, number)]
        if candidates:
            return candidates[0].id
        # Books that number all kinds with one counter are sometimes cited with another
        # kind word ("Corollary 2.19, 3.2" where 3.2 is a lemma). Books with a counter
        # per kind print "Example 15.13" and "Exercise 15.11" side by side, so there the
        # kind word must match. Plain numbers ("Example 1") collide in either case.
        others = self._by_number.get(number, set())
        if self._shared_counter and "." in number and len(others) == 1:
            return next(iter(others))
        return None


class SectionReferenceResolver:
    """Resolve printed citations of sections to the sections of the same book.

    A citation of a number that no section prints, such as "Section 9.9" in a
    book whose outline stops at chapter 8, is ignored.
    """

    def __init__(self, items: list[ItemText], sections: list[Section]) -> None:
        self.items = items
        self._by_number: dict[str, str] = {}
        self._title_keys = {section.id: _title_key(section.title) for section in sections}
        for section in sections:
            if section.number:
                # A number printed twice (a restarted appendix) means its first section.
                self._by_number.setdefault(section.number, section.id)

    def find_all(self) -> list[SectionReference]:
        """Return each item's section citations in order, once per section and per statement or proof."""
        references: list[SectionReference] = []
        if not self._by_number:
            return references
        for item in self.items:
            seen: set[tuple[str, bool]] = set()
            for text, in_proof in ((item.statement, False), (item.proof, True)):
                for reference in self._find_in(item.entity, text, in_proof):
                    key = (reference.section_id, reference.in_proof)
                    if key not in seen:
                        seen.add(key)
                        references.append(reference)
        return references

    def _find_in(self, source: Entity, text: PagedText, in_proof: bool) -> list[SectionReference]:
        found = []
        for match in _section_citations(text.text):
            if _is_ordinary_noun(text.text, match):
                continue
            numbers = _expand_numbers(match.group("numbers"), _ONE_SECTION_NUMBER)
            page = text.page_at(match.start())
            surface = re.sub(r"\s+", " ", match.group(0))
            for number in numbers:
                section_id = self._by_number.get(number)
                if section_id is None:
                    continue
                if len(numbers) == 1 and _is_printed_heading(text, match, self._title_keys[section_id]):
                    continue
                found.append(SectionReference(source.id, section_id, surface, page, in_proof))
        return found


def _section_citations(text: str) -> list[re.Match[str]]:
    """Return the matches of every section citation form in `text`, in reading order."""
    matches = list(_SECTION_CITATION.finditer(text))
    for pattern in _NAMED_SECTION_CITATIONS:
        matches.extend(pattern.finditer(text))
    return sorted(matches, key=lambda match: match.start())


def _is_ordinary_noun(text: str, match: re.Match[str]) -> bool:
    """Return whether a lower-case "section", "chapter" or "appendix" lacks a citing word before it."""
    if not match.group(0)[0].islower():
        return False
    before = _WORD_BEFORE.search(text[max(match.start() - 20, 0) : match.start()])
    if before is None:
        return True
    return before.group("mark") is None and before.group("word").lower() not in _CITING_WORDS


def _is_printed_heading(text: PagedText, match: re.Match[str], title_key: str) -> bool:
    """Return whether the match is a heading caught in an item's text, not a citation.

    The last item of a chapter can run into the next chapter's heading, "Chapter 2"
    on a line of its own or followed by the chapter title.
    """
    if match.start() not in text.line_starts:
        return False
    rest_of_line = text.text[match.end() : _line_end(text, match.start())]
    if not rest_of_line.strip():
        return True
    return bool(title_key) and _title_key(text.text[match.end() :]).startswith(title_key)


def _line_end(text: PagedText, offset: int) -> int:
    """Return the offset where the printed line holding `offset` ends."""
    index = bisect_right(text.line_starts, offset)
    if index < len(text.line_starts):
        # Joined lines are separated by one space.
        return text.line_starts[index] - 1
    return len(text.text)


def _uses_shared_counter(by_kind_number: dict[tuple[str, str], list[Entity]]) -> bool:
    """Return whether items of different kinds hardly ever print the same dotted number."""
    kinds_of: dict[str, set[str]] = {}
    for kind, number in by_kind_number:
        if "." in number:
            kinds_of.setdefault(number, set()).add(kind)
    if not kinds_of:
        return False
    collisions = sum(1 for kinds in kinds_of.values() if len(kinds) > 1)
    return collisions <= _SHARED_COUNTER_MAX_COLLISIONS * len(kinds_of)


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


def _expand_numbers(numbers: str, number_pattern: re.Pattern[str] = _ONE_NUMBER) -> list[str]:
    """Split "4.1–4.3" or "2.1, 2.2 and 2.5" into single numbers, expanding ranges."""
    matches = list(number_pattern.finditer(numbers))
    result: list[str] = []
    for index, match in enumerate(matches):
        number = match.group("number")
        if index > 0 and _RANGE_DASH.match(numbers[matches[index - 1].end() : match.start()]):
            result.extend(_range_between(matches[index - 1].group("number"), number))
        result.append(number)
    return list(dict.fromkeys(result))


def _is_line_label(text: str, match: re.Match[str], line_starts: set[int]) -> bool:
    """Return whether the cited number is a line label: it starts a printed line and a colon follows.

    Algorithm listings number their lines ("1: Input: ..."), so a caption such as
    "Kruskal's Algorithm" before the first line would otherwise read as "Algorithm 1".
    """
    start = match.start("numbers")
    end = match.end("numbers")
    return start in line_starts and text[end : end + 1] == ":"


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
