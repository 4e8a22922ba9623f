"""Find the terms that definitions introduce and the later items that mention them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from kg.errors import LemmagraphError
from kg.models import DEFINES, MENTIONS, Entity, Term, TermLink

from ingest.pdf_reader import Line, Span

logger = logging.getLogger(__name__)

# "is called a convex set", "are said to be adjacent", "we say that P is bounded".
_PHRASE_CUES = re.compile(
    r"\b(?:is|are)\s+(?:called|termed|known\s+as|said\s+to\s+be)\s+(?:an?\s+|the\s+)?(?P<a>[A-Za-z][\w\- ]{1,60}?)(?=[.,;:)]|\s+if\b|\s+when\b|$)"
    r"|\bwe\s+say\s+that\s+.{1,80}?\s+is\s+(?:an?\s+|the\s+)?(?P<b>[A-Za-z][\w\- ]{1,60}?)(?=[.,;:)]|\s+if\b|\s+when\b|$)"
)
_MAX_TERM_WORDS = 6
_MIN_TERM_CHARS = 3
# Emphasised runs that are labels, not terms.
_STOP_TERMS = {"if", "iff", "then", "and", "or", "not", "only if", "for all", "there exists", "i.e", "e.g", "note"}
# When more than this share of a statement's text characters is italic, the body is
# set in italic (amsthm "plain" style), so only bold marks a term there.
_ITALIC_BODY_SHARE = 0.6
# A span smaller than this share of the line's largest text size is a subscript or
# superscript. Books set in Times with mathptmx print math letters in the text italic
# font (NimbusRomNo9L-ReguItal), so a run holding one is a formula such as "c_n x_n", not emphasis.
_SCRIPT_SIZE_SHARE = 0.85
_BULLETS = ("•", "◦", "▪", "–", "-", "*")
_LEADING_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.IGNORECASE)
# A trailing variable or a trailing "of A": "basis B", "rank of A", "inverse A".
_TRAILING_VARIABLE = re.compile(r"(?:\s+of)?(?:\s+the)?\s+\S{1,2}$")


@lru_cache(maxsize=1)
def english_pipeline():
    """Build spaCy's blank English pipeline with the lookup lemmatizer, once per process.

    The lemma table comes from spacy-lookups-data, so no model is downloaded.
    Importing spaCy takes a few seconds because thinc imports torch when it is installed.
    """
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    try:
        nlp.initialize()
    except (ValueError, OSError) as error:
        raise LemmagraphError(
            f"spaCy's English lemma table cannot be loaded ({error}); "
            "install it with 'pip install spacy-lookups-data'"
        ) from error
    return nlp


def lemmatize(text: str) -> list[str]:
    """Return the lemmas of the lower-cased tokens of `text`."""
    return [token.lemma_ for token in english_pipeline()(text.lower())]


@dataclass
class DefinitionSource:
    """A definition entity with its statement lines and the length of its head."""

    entity: Entity
    lines: list[Line]
    head_length: int


class TermFinder:
    """Collect defined terms and link them to the items that define and mention them."""

    def __init__(self, book_id: str) -> None:
        self.book_id = book_id

    def normalize(self, surface: str) -> str:
        """Return the lower-cased form that keys a term, with its last word lemmatized.

        Only the head noun is reduced to its lemma, so "reduced costs" keys as
        "reduced cost" and not "reduce cost".
        """
        words = surface.lower().split()
        if not words:
            return ""
        head = "".join(lemmatize(words[-1]))
        return " ".join([*words[:-1], head])

    def find(
        self, definitions: list[DefinitionSource], entities: list[Entity]
    ) -> tuple[list[Term], list[TermLink]]:
        terms: dict[str, Term] = {}
        links: list[TermLink] = []
        defined_at: dict[str, int] = {}
        for source in definitions:
            for surface in _candidate_surfaces(source):
                name = self.normalize(surface)
                if not _is_plausible_term(name):
                    continue
                term_id = f"{self.book_id}:term:{name.replace(' ', '-')}"
                if term_id not in terms:
                    terms[term_id] = Term(term_id, self.book_id, name, surface)
                    defined_at[term_id] = source.entity.order
                link = TermLink(source.entity.id, term_id, DEFINES)
                if link not in links:
                    links.append(link)
        links.extend(self._mentions(terms, defined_at, entities))
        return list(terms.values()), links

    def _mentions(self, terms: dict[str, Term], defined_at: dict[str, int], entities: list[Entity]) -> list[TermLink]:
        """Link each item to the terms whose lemmas occur in its text, after their definition."""
        if not terms:
            return []
        from spacy.matcher import PhraseMatcher

        nlp = english_pipeline()
        matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        for term_id, term in terms.items():
            matcher.add(term_id, [nlp(term.surface.lower())])

        links: list[TermLink] = []
        texts = (f"{entity.text} {entity.proof}".lower() for entity in entities)
        for entity, doc in zip(entities, nlp.pipe(texts, batch_size=64)):
            found = {nlp.vocab.strings[match_id] for match_id, _start, _end in matcher(doc)}
            for term_id in sorted(found):
                if entity.order > defined_at[term_id]:
                    links.append(TermLink(entity.id, term_id, MENTIONS))
        return links


def _candidate_surfaces(source: DefinitionSource) -> list[str]:
    surfaces: list[str] = []
    if source.entity.title:
        surfaces.append(source.entity.title)
    surfaces.extend(_emphasised_runs(source.lines, source.head_length))
    text = source.entity.text
    for match in _PHRASE_CUES.finditer(text):
        surfaces.append((match.group("a") or match.group("b") or "").strip())
    cleaned = []
    for surface in surfaces:
        surface = _clean_surface(surface)
        if len(surface) >= _MIN_TERM_CHARS and surface not in cleaned:
            cleaned.append(surface)
    return cleaned


def _emphasised_runs(lines: list[Line], head_length: int) -> list[str]:
    """Return runs of bold or italic text-font spans after the head, math excluded.

    A run may continue onto the next line, where it is joined with a space or, after
    an end-of-line hyphen, without one. Runs that hold a subscript, fill a line of
    their own (headings) or end in a colon outside a bulleted list (run-in labels
    such as "Interpretation:") are dropped.
    """
    spans = _body_spans(lines, head_length)
    text_chars = sum(len(span.text) for _, span in spans if not span.is_math)
    italic_chars = sum(len(span.text) for _, span in spans if span.is_italic)
    italic_body = text_chars > 0 and italic_chars / text_chars > _ITALIC_BODY_SHARE

    runs: list[str] = []
    current: list[tuple[int, Span]] = []
    for index, span in spans:
        emphasised = not span.is_math and (span.is_bold or (span.is_italic and not italic_body))
        if emphasised or (span.text.isspace() and current):
            current.append((index, span))
            continue
        if current:
            runs.extend(_run_text(current, lines))
        current = []
    if current:
        runs.extend(_run_text(current, lines))
    return runs


def _body_spans(lines: list[Line], head_length: int) -> list[tuple[int, Span]]:
    """Return the spans after the item head, each with the index of its line."""
    spans = []
    for index, line in enumerate(lines):
        offset = 0
        for span in line.spans:
            start = offset
            offset += len(span.text)
            if index == 0 and start < head_length:
                continue
            spans.append((index, span))
    return spans


def _run_text(run: list[tuple[int, Span]], lines: list[Line]) -> list[str]:
    """Return the text of an emphasised run, or nothing when the run is not a term."""
    while run and run[-1][1].text.isspace():
        run.pop()
    if not run:
        return []
    for index, span in run:
        line_size = max(other.size for other in lines[index].spans)
        if span.text.strip() and span.size < _SCRIPT_SIZE_SHARE * line_size:
            return []

    first_line, last_line = run[0][0], run[-1][0]
    text = ""
    for position, (index, span) in enumerate(run):
        if position and index != run[position - 1][0]:
            text = text[:-1] if re.search(r"[a-z]-$", text) else text + " "
        text += span.text
    text = text.strip()

    if first_line == last_line and text == lines[first_line].text.strip():
        return []
    # NOTE: a bulleted "Sets:" is kept as a term, and its lemma "set" then matches
    # every later "set", so a generic word defined in a list links too widely.
    line_start = lines[first_line].text.lstrip()
    if text.endswith(":") and not line_start.startswith(_BULLETS):
        return []
    return [text]


def _clean_surface(surface: str) -> str:
    """Strip spacing, punctuation, a leading article and a trailing variable from a surface."""
    surface = re.sub(r"\s+", " ", surface).strip(" ,.;:")
    if surface.endswith(")") and surface.count("(") < surface.count(")"):
        surface = surface[:-1]
    surface = _LEADING_ARTICLE.sub("", surface)
    if len(surface.split()) > 1:
        surface = _TRAILING_VARIABLE.sub("", surface)
    return surface.strip(" ,.;:")


def _is_plausible_term(name: str) -> bool:
    if len(name) < _MIN_TERM_CHARS or name in _STOP_TERMS:
        return False
    words = name.split()
    if len(words) > _MAX_TERM_WORDS:
        return False
    if all(len(word) <= 2 for word in words):
        return False
    if name.count("(") != name.count(")") or name.count("[") != name.count("]"):
        return False
    letters = sum(character.isalpha() for character in name)
    return letters >= 0.7 * len(name.replace(" ", ""))
