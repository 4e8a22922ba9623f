"""Score dependency recovery against the gold edges of a book.

For every gold source item that has gold edges, the retriever ranks its
candidates once, and each gold target is looked up in that ranking:

- recall@k: the share of the source's gold targets found in the top k,
  averaged over sources (macro average);
- MRR: the mean over sources of 1 / rank of the first gold target found,
  0 when none is in the ranking;
- precision@10: gold targets in the top 10, divided by 10, averaged over sources.

Scores are reported per gold edge kind (`ref`: cited in the PDF, `uses`: a
blueprint annotation that the PDF does not show), for the union of both
(`any`), and per source kind within each (`ref/exercise`). Gold items map to
stored items by (kind, printed number), the n-th gold occurrence of a pair to
the n-th stored one. Gold sources that are not stored are skipped and counted.
Gold targets that are not stored stay in the denominator, because no
retriever can return them.

Variants: `fused` uses every signal. The ablations use one signal family
each: `citations` (direct and transitive citations), `vectors` (semantic
similarity) and `terms` (defined terms).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.errors import LemmagraphError
from kg.models import Entity
from kg.store import GraphStore
from retrieval.dependencies import DependencyRetriever
from retrieval.models import CITATION, SIGNALS, SIMILARITY, TERM, TRANSITIVE_CITATION, Dependency
from retrieval.vector_index import VectorIndex

RECALL_CUTOFFS: tuple[int, ...] = (5, 10, 20)
# Above this share of gold sources with no stored item, the gold file most likely
# belongs to another book, and scores over the few sources that match would mislead.
MAX_UNMATCHED_SHARE = 0.5
PRECISION_CUTOFF = 10
VARIANTS: dict[str, tuple[str, ...]] = {
    "fused": SIGNALS,
    "citations": (CITATION, TRANSITIVE_CITATION),
    "vectors": (SIMILARITY,),
    "terms": (TERM,),
}
ANY_VIA = "any"


@dataclass(frozen=True)
class GoldItem:
    id: str
    kind: str
    number: str | None


@dataclass(frozen=True)
class GoldEdge:
    source: str
    target: str
    via: str


@dataclass
class RankingScores:
    """Ranking quality of one group of gold edges, averaged over their source items."""

    sources: int
    edges: int
    recall: dict[int, float]  # cutoff k -> mean recall@k
    mrr: float
    precision_at_10: float

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["recall"] = {f"@{k}": round(value, 4) for k, value in self.recall.items()}
        data["mrr"] = round(self.mrr, 4)
        data["precision_at_10"] = round(self.precision_at_10, 4)
        return data


@dataclass
class DependencyEvaluation:
    """Scores of each retriever variant on a book, keyed by variant then edge group."""

    book_id: str
    gold_sources: int  # gold items with at least one edge
    skipped_sources: list[str] = field(default_factory=list)  # gold ids with no stored item
    unmatched_targets: list[str] = field(default_factory=list)  # gold target ids with no stored item
    variants: dict[str, dict[str, RankingScores]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "book_id": self.book_id,
            "gold_sources": self.gold_sources,
            "skipped_sources": self.skipped_sources,
            "unmatched_targets": self.unmatched_targets,
            "variants": {
                variant: {group: scores.to_dict() for group, scores in groups.items()}
                for variant, groups in self.variants.items()
            },
        }


def read_gold(path: Path) -> tuple[list[GoldItem], list[GoldEdge]]:
    """Read the items and edges of a gold file, or raise naming the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = [GoldItem(item["id"], item["kind"], item.get("number")) for item in data["items"]]
        edges = [GoldEdge(edge["src"], edge["dst"], edge["via"]) for edge in data["edges"]]
    except OSError as error:
        raise LemmagraphError(f"cannot read gold file {path}: {error.strerror}") from error
    except (ValueError, KeyError, TypeError) as error:
        raise LemmagraphError(
            f"invalid gold file {path}: expected 'items' with id, kind, number and "
            f"'edges' with src, dst, via ({error})"
        ) from error
    return items, edges


def require_matching_gold(book_id: str, gold_path: Path, sources: int, skipped: int) -> None:
    """Raise when more than MAX_UNMATCHED_SHARE of the `sources` gold sources match no stored item."""
    if sources and skipped > MAX_UNMATCHED_SHARE * sources:
        raise LemmagraphError(
            f"{skipped} of the {sources} gold sources in {gold_path} match no stored item of {book_id}, "
            "so the gold file may belong to another book: check --gold, or ingest the book it describes"
        )


def match_gold_items(gold_items: Iterable[GoldItem], entities: Iterable[Entity]) -> dict[str, Entity]:
    """Map gold item ids to stored items by (kind, number), occurrences paired in reading order."""
    stored: dict[tuple[str, str], list[Entity]] = defaultdict(list)
    for entity in sorted(entities, key=lambda entity: entity.order):
        if entity.number:
            stored[(entity.kind, entity.number)].append(entity)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    matched: dict[str, Entity] = {}
    for item in gold_items:
        if not item.number:
            continue
        key = (item.kind, item.number)
        occurrence = seen[key]
        seen[key] += 1
        if occurrence < len(stored[key]):
            matched[item.id] = stored[key][occurrence]
    return matched


def evaluate_dependencies(
    store: GraphStore,
    vectors: VectorIndex,
    book_id: str,
    gold_path: Path,
    variants: Iterable[str] = tuple(VARIANTS),
) -> DependencyEvaluation:
    """Rank the candidates of every gold source with each variant and score them against gold."""
    gold_items, gold_edges = read_gold(gold_path)
    entities = store.entities(book_id)
    matched = match_gold_items(gold_items, entities)
    kinds = {item.id: item.kind for item in gold_items}

    targets_by_source: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for edge in gold_edges:
        targets_by_source[edge.source][edge.via].add(edge.target)
        targets_by_source[edge.source][ANY_VIA].add(edge.target)

    evaluation = DependencyEvaluation(book_id=book_id, gold_sources=len(targets_by_source))
    evaluation.skipped_sources = sorted(source for source in targets_by_source if source not in matched)
    require_matching_gold(book_id, gold_path, evaluation.gold_sources, len(evaluation.skipped_sources))
    evaluation.unmatched_targets = sorted(
        {edge.target for edge in gold_edges if edge.target not in matched}
    )

    for variant in variants:
        if variant not in VARIANTS:
            raise LemmagraphError(f"unknown evaluation variant {variant!r}: use one of {', '.join(VARIANTS)}")
        retriever = DependencyRetriever(store, vectors, signals=VARIANTS[variant])
        evaluation.variants[variant] = _score_variant(
            retriever.ranked_candidates, targets_by_source, matched, kinds
        )
    return evaluation


def _score_variant(
    rank: Callable[[Entity], list[Dependency]],
    targets_by_source: dict[str, dict[str, set[str]]],
    matched: dict[str, Entity],
    kinds: dict[str, str],
) -> dict[str, RankingScores]:
    per_group: dict[str, list[tuple[list[str], set[str]]]] = defaultdict(list)
    for source, by_via in targets_by_source.items():
        entity = matched.get(source)
        if entity is None:
            continue
        ranking = [dependency.entity.id for dependency in rank(entity)]
        for via, gold_targets in by_via.items():
            expected = {matched[target].id if target in matched else f"missing:{target}" for target in gold_targets}
            per_group[via].append((ranking, expected))
            per_group[f"{via}/{kinds.get(source, 'unknown')}"].append((ranking, expected))
    return {group: score_rankings(pairs) for group, pairs in sorted(per_group.items())}


def score_rankings(pairs: list[tuple[list[str], set[str]]]) -> RankingScores:
    """Score (ranking, gold targets) pairs: mean recall@k, MRR and precision@10."""
    recall = {k: 0.0 for k in RECALL_CUTOFFS}
    reciprocal_ranks = 0.0
    precision = 0.0
    for ranking, expected in pairs:
        for k in RECALL_CUTOFFS:
            recall[k] += len(expected.intersection(ranking[:k])) / len(expected)
        first = next((position for position, item in enumerate(ranking, 1) if item in expected), None)
        reciprocal_ranks += 1.0 / first if first else 0.0
        precision += len(expected.intersection(ranking[:PRECISION_CUTOFF])) / PRECISION_CUTOFF
    count = len(pairs)
    if not count:
        return RankingScores(0, 0, {k: 0.0 for k in RECALL_CUTOFFS}, 0.0, 0.0)
    return RankingScores(
        sources=count,
        edges=sum(len(expected) for _, expected in pairs),
        recall={k: total / count for k, total in recall.items()},
        mrr=reciprocal_ranks / count,
        precision_at_10=precision / count,
    )
