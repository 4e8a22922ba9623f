"""Find the symbols that definitions and notation items introduce, and the later items that use them.

A symbol is introduced by a definition sign ("𝑑[𝑋; 𝑌] ∶= ...") or by a phrase
("we write ℍ[𝑋]", "denote by 𝜂", "let 𝜌(𝑋) denote", "by dim(𝐴) we mean").
Each symbol becomes a Term whose surface is the symbol as printed. Its name is
the part that later uses share: an operator with its opening bracket ("𝑑[")
or the whole symbol ("𝜂"). Items after the introducing one whose text contains
that name get a MENTIONS link.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from kg.models import DEFINES, MENTIONS, Entity, Term, TermLink

logger = logging.getLogger(__name__)

# Kinds whose statements introduce notation.
NOTATION_KINDS = ("definition", "notation")

# ":=" with an ASCII colon or U+2236 RATIO, which unicode-math prints.
_DEFINITION_SIGN = re.compile(r"\s?[:\u2236]\s?=")
# Phrases followed by the symbol they introduce.
_CUE_BEFORE = re.compile(
    r"\b(?:we\s+(?:write|define|set)|(?:we\s+)?denote(?:\s+it|\s+this|\s+them)?\s+by|we\s+denote|denoted(?:\s+by|\s+as)?)\s+",
    re.IGNORECASE,
)
# Phrases that follow the symbol they introduce: "let 𝜌(𝑋) denote", "𝜂 stands for".
_CUE_AFTER = re.compile(r"\s+(?:denotes?|stands\s+for)\b", re.IGNORECASE)
_BY_SYMBOL_WE_MEAN = re.compile(r"\bby\s+(?P<symbol>\S{1,40}?)\s+we\s+mean\b", re.IGNORECASE)
_OPENING = "([{"
_CLOSING = ")]}"
_TRAILING_PUNCTUATION = ",.;:"
_MAX_SYMBOL_CHARS = 40
# The operator part of a symbol before its opening bracket: "𝑑", "ℍ", "Sym", "𝐷𝐾𝐿".
_OPERATOR = re.compile(r"^(?P<operator>[^\s\[\(]{1,12}?)[\[\(]")
# A single Latin letter with optional digits or primes ("𝑋", "𝑍1", "x'") is a variable, not notation.
_VARIABLE = re.compile(r"^[A-Za-z][0-9'\u2032]*$")


@dataclass
class _Symbol:
    surface: str  # as printed, "𝑑[𝑋; 𝑌]"
    key: str  # what later uses share, "𝑑["


class SymbolFinder:
    """Collect the symbols notation items introduce and link them to later items."""

    def __init__(self, book_id: str) -> None:
        self.book_id = book_id

    def find(self, entities: list[Entity]) -> tuple[list[Term], list[TermLink]]:
        terms: dict[str, Term] = {}
        links: list[TermLink] = []
        introduced_at: dict[str, int] = {}
        for entity in entities:
            if entity.kind not in NOTATION_KINDS:
                continue
            for symbol in find_symbols(entity.text):
                term_id = f"{self.book_id}:symbol:{_id_key(symbol.key)}"
                if term_id not in terms:
                    terms[term_id] = Term(term_id, self.book_id, symbol.key, symbol.surface)
                    introduced_at[term_id] = entity.order
                link = TermLink(entity.id, term_id, DEFINES)
                if link not in links:
                    links.append(link)
        links.extend(_mentions(terms, introduced_at, entities))
        logger.debug("found %d symbols", len(terms))
        return list(terms.values()), links


def find_symbols(text: str) -> list[_Symbol]:
    """Return the symbols that `text` introduces, in order of appearance, without repeats."""
    surfaces: list[str] = []
    for match in _DEFINITION_SIGN.finditer(text):
        surfaces.append(_token_before(text, match.start()))
    for match in _CUE_BEFORE.finditer(text):
        surfaces.append(_token_after(text, match.end()))
    for match in _CUE_AFTER.finditer(text):
        surfaces.append(_token_before(text, match.start()))
    for match in _BY_SYMBOL_WE_MEAN.finditer(text):
        surfaces.append(match.group("symbol"))

    symbols: list[_Symbol] = []
    seen: set[str] = set()
    for surface in surfaces:
        # "We set 𝜂∶= 1/9" prints no space before the definition sign.
        surface = _DEFINITION_SIGN.split(surface)[0].strip().rstrip(_TRAILING_PUNCTUATION)
        key = _symbol_key(surface)
        if key is None or key in seen:
            continue
        seen.add(key)
        symbols.append(_Symbol(surface, key))
    return symbols


def _token_before(text: str, end: int) -> str:
    """Return the bracket-balanced token that ends at `end`, skipping spaces before it."""
    position = end
    while position > 0 and text[position - 1] == " ":
        position -= 1
    depth = 0
    start = position
    while start > 0:
        character = text[start - 1]
        if character in _CLOSING:
            depth += 1
        elif character in _OPENING:
            if depth == 0:
                break
            depth -= 1
        elif character.isspace() and depth == 0:
            break
        start -= 1
        if position - start > _MAX_SYMBOL_CHARS:
            return ""
    return text[start:position]


def _token_after(text: str, start: int) -> str:
    """Return the bracket-balanced token that starts at `start`."""
    depth = 0
    end = start
    while end < len(text):
        character = text[end]
        if character in _OPENING:
            depth += 1
        elif character in _CLOSING:
            if depth == 0:
                break
            depth -= 1
        elif character.isspace() and depth == 0:
            break
        end += 1
        if end - start > _MAX_SYMBOL_CHARS:
            return ""
    return text[start:end]


def _symbol_key(surface: str) -> str | None:
    """Return the part of a symbol that its uses share, or None if `surface` is no symbol.

    A word ("its", "Sym") or a lone variable ("𝑋", "𝑍1") is no notation. An
    operator applied to arguments keeps its opening bracket ("𝑑[", "dim("), so
    even a one-letter operator is kept.
    """
    if not surface or len(surface) > _MAX_SYMBOL_CHARS or surface.count("(") != surface.count(")"):
        return None
    operator = _OPERATOR.match(surface)
    if operator:
        return operator.group(0)
    folded = unicodedata.normalize("NFKC", surface)
    if _VARIABLE.match(folded) or (folded.isascii() and folded.isalpha()):
        return None
    if not any(character.isalpha() for character in folded):
        return None
    return surface


def _id_key(key: str) -> str:
    """Return a readable id part: math letters folded to ASCII ("𝑑[" -> "d[")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", key))


def _mentions(terms: dict[str, Term], introduced_at: dict[str, int], entities: list[Entity]) -> list[TermLink]:
    links: list[TermLink] = []
    for entity in entities:
        text = f"{entity.text} {entity.proof}"
        for term_id, term in terms.items():
            if entity.order > introduced_at[term_id] and term.name in text:
                links.append(TermLink(entity.id, term_id, MENTIONS))
    return links
