"""Score an extracted BookGraph against a gold file of items and citation edges.

Gold format: a JSON object with `items` (id, kind, number or null, page) and
`edges` (src, dst, via). Only edges with via == "ref" are printed in the PDF,
so only those are scored against REFERENCES.

Matching rules:
- An extracted item matches a gold item with the same kind and printed number.
  When a (kind, number) pair occurs more than once, pairs are matched in
  reading order, each item at most once.
- A gold item with a null number matches only an unnumbered extracted item of
  the same kind on the same page. Otherwise it counts as missed, so books that
  print unnumbered items are not scored more leniently.
- An edge matches when both of its ends are matched items and the gold file has
  an edge between the two gold items. Several citations between the same pair
  of items count as one edge, on both sides.

Titles are scored on matched items. A stored title is correct when it equals the
gold `title` after `normalize_title`, which drops LaTeX markup, accents, case
and whitespace, so "Production Planning ($T = 10$)" equals the printed
"Production Planning (T = 10)". A gold title that starts with the item's head
word and a colon ("Recipe: RHS Ranging") also matches without that prefix,
because the PDF prints the word as the head. Gold titles made only of float
placement letters ("H" from `\begin{algorithm}[H]`) are placement options, not
titles, and count as untitled.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.items import HEAD_WORDS
from kg.errors import LemmagraphError
from kg.models import BookGraph, Entity

GOLD_EDGE_VIA = "ref"

# LaTeX float placement options, which some gold files record as a bracket title.
_FLOAT_PLACEMENT = re.compile(r"^[htbpH!]+$")
# Accent commands such as \'e and \"o, whose letter stays after the accent is dropped.
_LATEX_ACCENT = re.compile(r"""\\[`'^"~=.]""")
_LATEX_COMMAND = re.compile(r"\\(?P<name>[A-Za-z]+)\*?")
# \texorpdfstring{TeX}{bookmark text}: the PDF page prints the first argument.
_TEXORPDFSTRING = re.compile(r"\\texorpdfstring\{(?P<tex>(?:[^{}]|\{[^{}]*\})*)\}\{(?:[^{}]|\{[^{}]*\})*\}")
# Greek letter variants that TeX and PDF text set as separate characters: \phi prints ϕ, \varphi prints φ.
_GREEK_VARIANTS = str.maketrans("\u03d5\u03d1\u03f5\u03d6\u03f1\u03c2", "\u03c6\u03b8\u03b5\u03c0\u03c1\u03c3")
_QUOTES = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")
_DASHES = re.compile(r"[-\u2010-\u2015]+")


@dataclass
class Score:
    """Precision, recall and F1 over counted true positives, extracted and gold totals."""

    true_positives: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        """Share of extracted entries that are correct; 1.0 when nothing was extracted and nothing expected."""
        if self.predicted:
            return self.true_positives / self.predicted
        return 0.0 if self.gold else 1.0

    @property
    def recall(self) -> float:
        """Share of gold entries found; 1.0 when the gold list is empty and nothing was extracted."""
        if self.gold:
            return self.true_positives / self.gold
        return 0.0 if self.predicted else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "true_positives": self.true_positives,
            "predicted": self.predicted,
            "gold": self.gold,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class ExtractionReport:
    """Item and reference scores of one book, with the mismatches listed."""

    items: Score
    items_by_kind: dict[str, Score]
    page_accuracy: float  # share of matched items whose page equals the gold page
    references: Score
    missed_items: list[str] = field(default_factory=list)
    spurious_items: list[str] = field(default_factory=list)
    wrong_pages: list[str] = field(default_factory=list)
    missed_edges: list[str] = field(default_factory=list)
    spurious_edges: list[str] = field(default_factory=list)
    # Share of matched items with a gold title whose stored title equals it after normalize_title.
    title_accuracy: float = 0.0
    titled_items: int = 0  # matched items with a gold title, the denominator of title_accuracy
    wrong_titles: list[str] = field(default_factory=list)
    # Matched items that store a title although the gold item has none.
    spurious_titles: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["items"] = self.items.to_dict()
        data["items_by_kind"] = {kind: score.to_dict() for kind, score in sorted(self.items_by_kind.items())}
        data["references"] = self.references.to_dict()
        data["page_accuracy"] = round(self.page_accuracy, 4)
        data["title_accuracy"] = round(self.title_accuracy, 4)
        return data


def evaluate_extraction(graph: BookGraph, gold_path: Path) -> ExtractionReport:
    """Compare `graph` with the gold file at `gold_path` and return the scores."""
    gold = _load_gold(Path(gold_path))
    gold_items: list[dict] = gold["items"]
    entities = sorted(graph.entities, key=lambda entity: entity.order)

    matches = _match_items(gold_items, entities)
    matched_gold = {gold_index for gold_index, _ in matches}
    matched_entities = {entity_index for _, entity_index in matches}

    kinds = {item["kind"] for item in gold_items} | {entity.kind for entity in entities}
    by_kind = {}
    for kind in kinds:
        true_positives = sum(1 for gold_index, _ in matches if gold_items[gold_index]["kind"] == kind)
        predicted = sum(1 for entity in entities if entity.kind == kind)
        expected = sum(1 for item in gold_items if item["kind"] == kind)
        by_kind[kind] = Score(true_positives, predicted, expected)

    wrong_pages = [
        f"{_gold_label(gold_items[g])}: page {entities[e].page}, gold page {gold_items[g]['page']}"
        for g, e in matches
        if entities[e].page != gold_items[g]["page"]
    ]
    page_accuracy = 1 - len(wrong_pages) / len(matches) if matches else 0.0

    references, missed_edges, spurious_edges = _score_edges(gold, gold_items, entities, graph, matches)
    titles = _score_titles(gold_items, entities, matches)
    return ExtractionReport(
        items=Score(len(matches), len(entities), len(gold_items)),
        items_by_kind=by_kind,
        page_accuracy=page_accuracy,
        references=references,
        missed_items=[
            f"{_gold_label(item)} (page {item['page']})"
            for index, item in enumerate(gold_items)
            if index not in matched_gold
        ],
        spurious_items=[
            f"{entity.label} (page {entity.page})"
            for index, entity in enumerate(entities)
            if index not in matched_entities
        ],
        wrong_pages=wrong_pages,
        missed_edges=missed_edges,
        spurious_edges=spurious_edges,
        title_accuracy=titles.accuracy,
        titled_items=titles.titled,
        wrong_titles=titles.wrong,
        spurious_titles=titles.spurious,
    )


def normalize_title(title: str) -> str:
    """Reduce a title to the characters both LaTeX source and PDF text show.

    Drops math delimiters (`$`, `\\(`, `\\)`), sub- and superscript marks,
    command names (`\\emph`, `\\mathbb`), braces, accents, whitespace and case.
    Greek letter commands (`\\tau`) become their letter, math alphanumerics
    (U+1D70F) their plain letter, curly quotes straight ones, and every dash
    run "-". Other commands that print a symbol, such as `\\le`, are dropped,
    so a title with one does not equal its printed form.
    """
    text = _TEXORPDFSTRING.sub(r"\g<tex>", title)
    text = _LATEX_ACCENT.sub("", text)
    text = text.replace("\\(", "").replace("\\)", "")
    text = _LATEX_COMMAND.sub(_greek_letter, text)
    text = re.sub(r"[${}\\~_^]", "", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(character for character in text if not unicodedata.combining(character))
    text = _DASHES.sub("-", text).translate(_GREEK_VARIANTS).translate(_QUOTES)
    return "".join(text.casefold().split())


def _greek_letter(command: re.Match[str]) -> str:
    """Return the letter a Greek letter command prints (`\\tau` -> τ, `\\Phi` -> Φ, `\\varphi` -> φ), else ''."""
    name = command.group("name").removeprefix("var")
    case = "CAPITAL" if name[:1].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {name.upper()}")
    except KeyError:
        return ""


@dataclass
class _TitleScore:
    accuracy: float
    titled: int
    wrong: list[str]
    spurious: list[str]


def _score_titles(gold_items: list[dict], entities: list[Entity], matches: list[tuple[int, int]]) -> _TitleScore:
    correct = titled = 0
    wrong: list[str] = []
    spurious: list[str] = []
    for gold_index, entity_index in matches:
        item = gold_items[gold_index]
        stored = entities[entity_index].title or ""
        expected = _gold_title(item)
        if not expected:
            if stored.strip():
                spurious.append(f"{_gold_label(item)}: stored {stored!r}, gold untitled")
            continue
        titled += 1
        if normalize_title(stored) in _accepted_titles(expected, item["kind"]):
            correct += 1
        else:
            wrong.append(f"{_gold_label(item)}: stored {stored!r}, gold {expected!r}")
    return _TitleScore(correct / titled if titled else 0.0, titled, wrong, spurious)


def _gold_title(item: dict) -> str:
    title = (item.get("title") or "").strip()
    return "" if _FLOAT_PLACEMENT.match(title) else title


def _accepted_titles(gold_title: str, kind: str) -> set[str]:
    """Return the normalized forms of `gold_title` that count as correct for an item of `kind`."""
    accepted = {normalize_title(gold_title)}
    head, colon, rest = gold_title.partition(":")
    if colon and head.strip().lower() in _head_words(kind):
        accepted.add(normalize_title(rest))
    return accepted


def _head_words(kind: str) -> set[str]:
    return {word for word, word_kind in HEAD_WORDS.items() if word_kind == kind}


def _load_gold(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise LemmagraphError(f"{path}: gold file cannot be read ({error}); pass a gold.json file") from error
    if not isinstance(data, dict) or "items" not in data or "edges" not in data:
        raise LemmagraphError(f"{path}: gold file has no 'items' and 'edges' lists; pass a gold.json file")
    return data


def _match_items(gold_items: list[dict], entities: list[Entity]) -> list[tuple[int, int]]:
    """Pair gold items with entities; return (gold index, entity index) pairs."""
    numbered: dict[tuple[str, str], list[int]] = defaultdict(list)
    unnumbered: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, entity in enumerate(entities):
        if entity.number:
            numbered[(entity.kind, entity.number)].append(index)
        else:
            unnumbered[(entity.kind, entity.page)].append(index)

    matches = []
    for gold_index, item in enumerate(gold_items):
        if item["number"]:
            candidates = numbered.get((item["kind"], str(item["number"])))
        else:
            candidates = unnumbered.get((item["kind"], item["page"]))
        if candidates:
            matches.append((gold_index, candidates.pop(0)))
    return matches


def _score_edges(
    gold: dict,
    gold_items: list[dict],
    entities: list[Entity],
    graph: BookGraph,
    matches: list[tuple[int, int]],
) -> tuple[Score, list[str], list[str]]:
    gold_index_by_id = {item["id"]: index for index, item in enumerate(gold_items)}
    gold_edges = {
        (gold_index_by_id[edge["src"]], gold_index_by_id[edge["dst"]])
        for edge in gold["edges"]
        if edge.get("via") == GOLD_EDGE_VIA and edge["src"] in gold_index_by_id and edge["dst"] in gold_index_by_id
    }
    entity_index_by_id = {entity.id: index for index, entity in enumerate(entities)}
    gold_of_entity = {entity_index: gold_index for gold_index, entity_index in matches}

    predicted_edges = {
        (entity_index_by_id[reference.source_id], entity_index_by_id[reference.target_id])
        for reference in graph.references
        if reference.source_id in entity_index_by_id and reference.target_id in entity_index_by_id
    }
    found: set[tuple[int, int]] = set()
    spurious: list[str] = []
    for source, target in sorted(predicted_edges):
        pair = (gold_of_entity.get(source), gold_of_entity.get(target))
        if pair in gold_edges:
            found.add(pair)
        else:
            spurious.append(f"{entities[source].label} -> {entities[target].label} (page {entities[source].page})")
    missed = [
        f"{_gold_label(gold_items[source])} -> {_gold_label(gold_items[target])} (page {gold_items[source]['page']})"
        for source, target in sorted(gold_edges - found)
    ]
    return Score(len(found), len(predicted_edges), len(gold_edges)), missed, spurious


def _gold_label(item: dict) -> str:
    number = item["number"] if item["number"] else "(unnumbered)"
    return f"{item['kind'].capitalize()} {number}"
