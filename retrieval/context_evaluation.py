"""Score the context closures that formalization prompts use against the gold edges of a book.

For every stored gold source item with gold `ref` or `uses` edges, the closure
is built as `lemmagraph prompt` builds it (the top 10 ranked dependencies plus
what their statements need, no token budget) and compared with gold:

- precision: the share of context items, pooled over all sources, that the
  source needs through gold edges at any depth (A uses B and B cites C makes
  both B and C needed by A). The closure adds what its items' statements need,
  so counting only direct gold targets would mark those correct additions
  wrong. `direct_precision` counts only direct gold targets;
- recall: the share of the source's direct gold targets in its context,
  averaged over sources. Gold targets with no stored item stay in the
  denominator;
- mean items and mean estimated tokens of the context, tokens as
  `retrieval.closure.estimate_tokens` counts them (label, title and statement
  of each item). The prompt adds its templates and the target item to that.

Gold items map to stored items as in `retrieval.evaluation`. A context item
that matches no gold item counts as not needed.

NOTE: the prompt builder also drops context items to fit the model's context
window, and that cut is not applied here. With the default 32768-token window
it acts only on prompts above 28672 tokens. The largest prompt of a gold
source in either corpus book was about 6500 tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kg.models import Entity
from kg.store import GraphStore
from retrieval.closure import DEFAULT_SIMILARITY_FLOOR, build_closure
from retrieval.dependencies import DependencyRetriever
from retrieval.evaluation import GoldEdge, match_gold_items, read_gold, require_matching_gold
from retrieval.vector_index import VectorIndex

# The `--top` default of `lemmagraph prompt` and `formalize`.
PROMPT_TOP = 10
ALL_SOURCES = "all"


@dataclass
class ContextScores:
    """Context quality of one group of gold sources at one similarity floor."""

    sources: int
    precision: float
    direct_precision: float
    recall: float
    mean_items: float
    mean_tokens: float

    def to_dict(self) -> dict[str, object]:
        return {
            "sources": self.sources,
            "precision": round(self.precision, 4),
            "direct_precision": round(self.direct_precision, 4),
            "recall": round(self.recall, 4),
            "mean_items": round(self.mean_items, 2),
            "mean_tokens": round(self.mean_tokens, 1),
        }


@dataclass
class ContextRun:
    """The scores of every source group with one similarity floor; groups are `all` and each source kind."""

    similarity_floor: float
    groups: dict[str, ContextScores] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "similarity_floor": self.similarity_floor,
            "groups": {group: scores.to_dict() for group, scores in self.groups.items()},
        }


@dataclass
class ContextEvaluation:
    """Context scores of a book, one run per similarity floor."""

    book_id: str
    top: int
    gold_sources: int  # gold items with at least one edge
    skipped_sources: list[str] = field(default_factory=list)  # gold ids with no stored item
    runs: list[ContextRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "book_id": self.book_id,
            "top": self.top,
            "gold_sources": self.gold_sources,
            "skipped_sources": self.skipped_sources,
            "runs": [run.to_dict() for run in self.runs],
        }


@dataclass(frozen=True)
class SourceContext:
    """One source's context item ids with the gold item ids it needs directly and at any depth."""

    kind: str
    context: list[str]
    tokens: int
    direct: set[str]
    needed: set[str]


def evaluate_context(
    store: GraphStore,
    vectors: VectorIndex,
    book_id: str,
    gold_path: Path,
    similarity_floors: Sequence[float] = (0.0, DEFAULT_SIMILARITY_FLOOR),
    top: int = PROMPT_TOP,
) -> ContextEvaluation:
    """Build the prompt context of every gold source at each similarity floor and score it against gold."""
    gold_items, gold_edges = read_gold(gold_path)
    matched = match_gold_items(gold_items, store.entities(book_id))
    kinds = {item.id: item.kind for item in gold_items}
    direct_targets = _direct_targets(gold_edges)

    evaluation = ContextEvaluation(book_id=book_id, top=top, gold_sources=len(direct_targets))
    evaluation.skipped_sources = sorted(source for source in direct_targets if source not in matched)
    require_matching_gold(book_id, gold_path, evaluation.gold_sources, len(evaluation.skipped_sources))
    retriever = DependencyRetriever(store, vectors)
    for floor in dict.fromkeys(similarity_floors):
        contexts = [
            _source_context(retriever, matched, direct_targets, source, kinds.get(source, "unknown"), floor, top)
            for source in sorted(direct_targets)
            if source in matched
        ]
        run = ContextRun(similarity_floor=floor)
        run.groups[ALL_SOURCES] = score_contexts(contexts)
        for kind in sorted({context.kind for context in contexts}):
            run.groups[kind] = score_contexts([context for context in contexts if context.kind == kind])
        evaluation.runs.append(run)
    return evaluation


def score_contexts(contexts: Iterable[SourceContext]) -> ContextScores:
    """Score source contexts: pooled precision, mean recall of direct targets, mean size and tokens."""
    contexts = list(contexts)
    if not contexts:
        return ContextScores(0, 0.0, 0.0, 0.0, 0.0, 0.0)
    items = sum(len(context.context) for context in contexts)
    needed = sum(len(context.needed.intersection(context.context)) for context in contexts)
    direct = sum(len(context.direct.intersection(context.context)) for context in contexts)
    recall = sum(len(context.direct.intersection(context.context)) / len(context.direct) for context in contexts)
    count = len(contexts)
    return ContextScores(
        sources=count,
        precision=needed / items if items else 0.0,
        direct_precision=direct / items if items else 0.0,
        recall=recall / count,
        mean_items=items / count,
        mean_tokens=sum(context.tokens for context in contexts) / count,
    )


def _direct_targets(gold_edges: Iterable[GoldEdge]) -> dict[str, set[str]]:
    targets: dict[str, set[str]] = defaultdict(set)
    for edge in gold_edges:
        if edge.target != edge.source:
            targets[edge.source].add(edge.target)
    return targets


def _reachable(direct_targets: dict[str, set[str]], source: str) -> set[str]:
    """Return the gold ids reachable from `source` along gold edges, without `source` itself."""
    reached: set[str] = set()
    frontier = [source]
    while frontier:
        current = frontier.pop()
        for target in direct_targets.get(current, ()):
            if target not in reached and target != source:
                reached.add(target)
                frontier.append(target)
    return reached


def _source_context(
    retriever: DependencyRetriever,
    matched: dict[str, Entity],
    direct_targets: dict[str, set[str]],
    source: str,
    kind: str,
    similarity_floor: float,
    top: int,
) -> SourceContext:
    def stored_ids(gold_ids: Iterable[str]) -> set[str]:
        # An unstored gold target keeps a placeholder id, so it counts as a miss.
        return {matched[gold_id].id if gold_id in matched else f"missing:{gold_id}" for gold_id in gold_ids}

    closure = build_closure(retriever, matched[source], top=top, similarity_floor=similarity_floor)
    return SourceContext(
        kind=kind,
        context=[dependency.entity.id for dependency in closure.dependencies],
        tokens=closure.estimated_tokens,
        direct=stored_ids(direct_targets[source]),
        needed=stored_ids(_reachable(direct_targets, source)),
    )
