"""Dependency recovery: which earlier items a target item needs, and why.

Three signals propose candidates, and each candidate's score fuses them by
noisy-OR, 1 - prod(1 - s_i), so that agreeing signals reinforce each other
and no single weak signal dominates:

- explicit citations of the target (statement or proof), weight 0.95, and
  citations made by those cited items, weight 0.5 at depth 2 (and halving
  with each further level);
- defined terms the target mentions, linked to the latest definition of the
  term before the target, weight 0.7;
- FAISS neighbours of the target among items printed before it, weight
  0.6 times the cosine similarity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kg.models import Entity
from kg.store import GraphStore
from retrieval.models import Dependency, DependencyContext
from retrieval.vector_index import VectorIndex

log = logging.getLogger(__name__)

CITATION_WEIGHT = 0.95
TRANSITIVE_CITATION_WEIGHT = 0.5
TERM_WEIGHT = 0.7
SIMILARITY_WEIGHT = 0.6


@dataclass
class _Candidate:
    entity: Entity
    signal_scores: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, score: float, reason: str) -> None:
        self.signal_scores.append(score)
        self.reasons.append(reason)

    def fused_score(self) -> float:
        remaining = 1.0
        for score in self.signal_scores:
            remaining *= 1.0 - max(0.0, min(score, 1.0))
        return 1.0 - remaining


class DependencyRetriever:
    """Recovers the dependencies of an item from the graph and the vector index."""

    def __init__(
        self,
        store: GraphStore,
        vectors: VectorIndex,
        *,
        citation_depth: int = 2,
        neighbour_pool: int = 50,
    ) -> None:
        self._store = store
        self._vectors = vectors
        self._citation_depth = citation_depth
        self._neighbour_pool = neighbour_pool

    def dependencies(self, target: Entity, top: int = 10) -> DependencyContext:
        """Return the `top` best dependencies of `target`, best first."""
        candidates: dict[str, _Candidate] = {}

        def candidate(entity: Entity) -> _Candidate:
            if entity.id not in candidates:
                candidates[entity.id] = _Candidate(entity)
            return candidates[entity.id]

        self._add_citations(target, candidate)
        self._add_terms(target, candidate)
        self._add_neighbours(target, candidate)
        candidates.pop(target.id, None)

        ranked = sorted(
            candidates.values(),
            key=lambda item: (-item.fused_score(), item.entity.order),
        )
        dependencies = [
            Dependency(item.entity, round(item.fused_score(), 4), item.reasons)
            for item in ranked[:top]
        ]
        return DependencyContext(target=target, dependencies=dependencies)

    def _add_citations(self, target: Entity, candidate) -> None:
        # Breadth-first over REFERENCES edges. Cited items count wherever they stand
        # in the book, since a theorem may rely on a lemma proved later.
        frontier = [(target, None)]
        seen = {target.id}
        for depth in range(1, self._citation_depth + 1):
            weight = CITATION_WEIGHT if depth == 1 else TRANSITIVE_CITATION_WEIGHT / 2 ** (depth - 2)
            next_frontier = []
            for source, via in frontier:
                for reference in self._store.references_from(source.id):
                    if reference.target_id in seen:
                        continue
                    seen.add(reference.target_id)
                    cited = self._store.entity(reference.target_id)
                    if depth == 1:
                        where = "proof" if reference.in_proof else "statement"
                        reason = f'cited as "{reference.surface}" in the {where}'
                    else:
                        reason = f"reached through {via.label} at depth {depth}"
                    candidate(cited).add(weight, reason)
                    next_frontier.append((cited, via or cited))
            frontier = next_frontier

    def _add_terms(self, target: Entity, candidate) -> None:
        for term in self._store.terms_mentioned_by(target.id):
            earlier = [
                definer
                for definer in self._store.definers_of(term.id)
                if definer.order < target.order
            ]
            if not earlier:
                continue
            # The definition in force is the latest one before the target.
            definer = earlier[-1]
            candidate(definer).add(TERM_WEIGHT, f'uses the term "{term.surface}" defined there')

    def _add_neighbours(self, target: Entity, candidate) -> None:
        query = self._vectors.vector(target.book_id, target.id)
        if query is None:
            log.warning("item %s has no stored embedding; skipping semantic neighbours", target.id)
            return
        earlier = {
            entity.id: entity
            for entity in self._store.entities(target.book_id)
            if entity.order < target.order
        }
        for neighbour in self._vectors.search(target.book_id, query, self._neighbour_pool):
            entity = earlier.get(neighbour.entity_id)
            if entity is None or neighbour.similarity <= 0:
                continue
            candidate(entity).add(
                SIMILARITY_WEIGHT * neighbour.similarity,
                f"semantic similarity {neighbour.similarity:.2f}",
            )
