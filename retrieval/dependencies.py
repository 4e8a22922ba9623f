"""Dependency recovery: which items a target item needs, and why.

Scoring rule. Each signal that proposes a candidate item c for a target t
gives a strength s in [0, 1]:

- citation: 0.95 when t cites c in its statement, 0.9 when only its proof
  does. Cited items count wherever they stand in the book. When the book
  prints the cited kind and number on several items (a restated theorem, a
  counter that restarts), the copy whose embedding is most similar to t's
  gets that strength and the others 0.8 times it.
- transitive citation: 0.5 * 0.5 ** (d - 2) when c is first reached at depth
  d >= 2 by following the citations of cited items (statement and proof).
- term: 0.75 * specificity for the item that defines a term t mentions, taking
  the latest definition before t so that a redefinition replaces the earlier
  one. specificity = 1 - log(1 + m) / log(1 + n), where m is the number of
  items that mention the term and n the number of items in the book: an
  inverse document frequency, so terms that many items use count for less.
- similarity: 0.7 * cos * locality for items printed before t, where cos is
  the cosine similarity of the stored embeddings (negative values count as 0)
  and locality = kin * recency. kin is 1.0 in the same section, 0.85 in the
  same chapter and 0.7 elsewhere; recency = 0.55 + 0.45 * exp(-(k - 1) / 6)
  for an item k positions earlier in reading order.

The fused score is the noisy-OR 1 - prod(1 - s_i), so agreeing signals
reinforce each other and no single weak signal dominates. Ties go to the
item printed closer before the target.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass, field

from kg.models import Entity
from kg.store import GraphStore
from retrieval.book_snapshot import BookSnapshot, chapter_of
from retrieval.models import (
    CITATION,
    SIGNALS,
    SIMILARITY,
    TERM,
    TRANSITIVE_CITATION,
    Dependency,
    DependencyContext,
)
from retrieval.vector_index import VectorIndex

log = logging.getLogger(__name__)

STATEMENT_CITATION_WEIGHT = 0.95
PROOF_CITATION_WEIGHT = 0.9
# Share of a citation's strength given to the other items that print the cited number.
AMBIGUOUS_CITATION_SHARE = 0.8
TRANSITIVE_CITATION_WEIGHT = 0.5
TERM_WEIGHT = 0.75
SIMILARITY_WEIGHT = 0.7
SAME_SECTION_KIN = 1.0
SAME_CHAPTER_KIN = 0.85
OTHER_CHAPTER_KIN = 0.7
RECENCY_FLOOR = 0.55
RECENCY_SCALE_ITEMS = 6.0


@dataclass
class _Candidate:
    entity: Entity
    signals: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    via: str | None = None

    def add(self, signal: str, strength: float, reason: str) -> None:
        # One strength per signal: a second proposal by the same signal keeps the
        # stronger one but still records its reason.
        strength = max(0.0, min(strength, 1.0))
        self.signals[signal] = max(strength, self.signals.get(signal, 0.0))
        self.reasons.append(reason)

    def fused_score(self) -> float:
        remaining = 1.0
        for strength in self.signals.values():
            remaining *= 1.0 - strength
        return 1.0 - remaining


class DependencyRetriever:
    """Recovers the dependencies of an item from citations, terms and the vector index.

    The retriever keeps a `BookSnapshot` per book, so build one retriever and ask
    it many times. Call `invalidate` after a book is written again.
    `signals` limits which signals propose candidates, for ablation studies.
    """

    def __init__(
        self,
        store: GraphStore,
        vectors: VectorIndex,
        *,
        citation_depth: int = 2,
        neighbour_pool: int = 200,
        signals: Collection[str] = SIGNALS,
    ) -> None:
        unknown = set(signals) - set(SIGNALS)
        if unknown:
            raise ValueError(f"unknown signals {sorted(unknown)}: use some of {', '.join(SIGNALS)}")
        self._store = store
        self._vectors = vectors
        self._citation_depth = citation_depth
        self._neighbour_pool = neighbour_pool
        self._signals = frozenset(signals)
        self._snapshots: dict[str, BookSnapshot] = {}

    @property
    def store(self) -> GraphStore:
        return self._store

    def snapshot(self, book_id: str) -> BookSnapshot:
        """Return the cached snapshot of a book, loading it on first use."""
        if book_id not in self._snapshots:
            self._snapshots[book_id] = BookSnapshot.load(self._store, book_id)
        return self._snapshots[book_id]

    def invalidate(self, book_id: str | None = None) -> None:
        """Forget the cached snapshot of one book, or of every book."""
        if book_id is None:
            self._snapshots.clear()
        else:
            self._snapshots.pop(book_id, None)

    def dependencies(self, target: Entity, top: int = 10) -> DependencyContext:
        """Return the `top` best dependencies of `target`, best first."""
        ranked = self.ranked_candidates(target)
        return DependencyContext(target=target, dependencies=ranked[:top])

    def ranked_candidates(self, target: Entity) -> list[Dependency]:
        """Return every candidate the enabled signals propose, best first."""
        snapshot = self.snapshot(target.book_id)
        candidates: dict[str, _Candidate] = {}

        def candidate(entity: Entity) -> _Candidate:
            if entity.id not in candidates:
                candidates[entity.id] = _Candidate(entity)
            return candidates[entity.id]

        if CITATION in self._signals or TRANSITIVE_CITATION in self._signals:
            self._add_citations(snapshot, target, candidate)
        if TERM in self._signals:
            self._add_terms(snapshot, target, candidate)
        if SIMILARITY in self._signals:
            self._add_neighbours(snapshot, target, candidate)
        candidates.pop(target.id, None)

        def rank_key(item: _Candidate) -> tuple[float, int]:
            return (-round(item.fused_score(), 9), abs(target.order - item.entity.order))

        return [
            Dependency(
                item.entity,
                round(item.fused_score(), 4),
                item.reasons,
                signals={name: round(value, 4) for name, value in item.signals.items()},
                via=item.via,
            )
            for item in sorted(candidates.values(), key=rank_key)
            if item.signals
        ]

    def _add_citations(self, snapshot: BookSnapshot, target: Entity, candidate) -> None:
        # Breadth-first over REFERENCES edges; `via` remembers the directly cited
        # item each deeper one was reached through.
        frontier: list[tuple[Entity, Entity | None]] = [(target, None)]
        seen = {target.id}
        for depth in range(1, self._citation_depth + 1):
            if depth == 1 and CITATION not in self._signals:
                signal = None
            elif depth > 1 and TRANSITIVE_CITATION not in self._signals:
                signal = None
            else:
                signal = CITATION if depth == 1 else TRANSITIVE_CITATION
            next_frontier: list[tuple[Entity, Entity | None]] = []
            first_seen: dict[str, Entity] = {}
            for source, via in frontier:
                for reference in snapshot.references_from(self._store, source.id):
                    cited = snapshot.by_id.get(reference.target_id)
                    if cited is None:
                        continue
                    if depth == 1 and signal is not None:
                        self._add_direct_citation(snapshot, target, candidate, cited, reference)
                    if reference.target_id in seen:
                        continue
                    seen.add(reference.target_id)
                    first_seen[cited.id] = cited
                    through = via or cited
                    if depth > 1 and signal is not None:
                        strength = TRANSITIVE_CITATION_WEIGHT * 0.5 ** (depth - 2)
                        found = candidate(cited)
                        found.add(signal, strength, f"reached through {through.label} at depth {depth}")
                        found.via = found.via or through.id
                    next_frontier.append((cited, through))
            frontier = next_frontier

    def _add_direct_citation(self, snapshot: BookSnapshot, target: Entity, candidate, cited: Entity, reference) -> None:
        where = "proof" if reference.in_proof else "statement"
        reason = f'cited as "{reference.surface}" in the {where}'
        strength = PROOF_CITATION_WEIGHT if reference.in_proof else STATEMENT_CITATION_WEIGHT
        copies = snapshot.same_label(cited)
        if len(copies) == 1:
            found = candidate(cited)
            if reason not in found.reasons:
                found.add(CITATION, strength, reason)
            return

        # The number is printed on several items, so the citation is ambiguous:
        # prefer the copy that reads most like the target.
        preferred = self._most_similar(target, copies) or cited
        note = f"{reason}; the book prints this number on {len(copies)} items"
        for copy in copies:
            found = candidate(copy)
            if note in found.reasons:
                continue
            share = 1.0 if copy.id == preferred.id else AMBIGUOUS_CITATION_SHARE
            found.add(CITATION, strength * share, note)

    def _most_similar(self, target: Entity, items: list[Entity]) -> Entity | None:
        query = self._vectors.vector(target.book_id, target.id)
        if query is None:
            return None
        best, best_similarity = None, -2.0
        for item in items:
            vector = self._vectors.vector(item.book_id, item.id)
            if vector is not None and float(query @ vector) > best_similarity:
                best, best_similarity = item, float(query @ vector)
        return best

    def _add_terms(self, snapshot: BookSnapshot, target: Entity, candidate) -> None:
        book_size = len(snapshot.entities)
        for term in snapshot.mentioned_terms(self._store, target.id):
            definer = snapshot.definition_in_force(term.id, target)
            if definer is None or definer.id == target.id:
                continue
            mentioned_by = min(snapshot.mention_counts.get(term.id, 1), book_size)
            specificity = 1.0 - math.log1p(mentioned_by) / math.log1p(max(book_size, 1))
            strength = TERM_WEIGHT * specificity
            candidate(definer).add(TERM, strength, f'uses the term "{term.surface}" defined there')

    def _add_neighbours(self, snapshot: BookSnapshot, target: Entity, candidate) -> None:
        query = self._vectors.vector(target.book_id, target.id)
        if query is None:
            log.warning("item %s has no stored embedding; skipping semantic neighbours", target.id)
            return
        pool = min(self._neighbour_pool, len(snapshot.entities))
        for neighbour in self._vectors.search(target.book_id, query, pool):
            entity = snapshot.by_id.get(neighbour.entity_id)
            if entity is None or entity.order >= target.order or neighbour.similarity <= 0:
                continue
            kin, where = _kinship(target, entity)
            distance = target.order - entity.order
            recency = RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * math.exp(-(distance - 1) / RECENCY_SCALE_ITEMS)
            strength = SIMILARITY_WEIGHT * neighbour.similarity * kin * recency
            earlier = "1 item earlier" if distance == 1 else f"{distance} items earlier"
            candidate(entity).add(
                SIMILARITY,
                strength,
                f"semantic similarity {neighbour.similarity:.2f} ({where}, {earlier})",
            )


def _kinship(target: Entity, other: Entity) -> tuple[float, str]:
    """Return the locality factor of sharing a section or chapter, with its description.

    Section titles such as "Exercises" repeat in every chapter, so two items
    share a section only when they also share the chapter, where it is known.
    """
    chapter = chapter_of(target)
    same_chapter = chapter is not None and chapter == chapter_of(other)
    chapters_agree = same_chapter or chapter is None or chapter_of(other) is None
    if target.section and target.section == other.section and chapters_agree:
        return SAME_SECTION_KIN, "same section"
    if same_chapter:
        return SAME_CHAPTER_KIN, "same chapter"
    return OTHER_CHAPTER_KIN, "other chapter"
