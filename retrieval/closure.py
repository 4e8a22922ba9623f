"""Context closure: the selected dependencies plus what their statements need, in dependency order.

Seeds. The closure starts from the `top` ranked dependencies of a target. A
dependency that a citation, a transitive citation or a defined term proposed
always seeds it. One that only semantic similarity proposed seeds it when it is
a definition or notation, or when its score reaches the similarity floor. The
other similarity-only proposals are listed in `below_floor`, unless a member
needs them anyway.

Expansion. From the seeds the closure adds, level by level, the items that each
member's statement needs: the items its statement cites and the definitions in
force of the terms its statement mentions. Proof citations do not pull items
in, because a prompt shows statements only, but they do order the items
already there.

Need. A selected item's need is its retrieval score. An item that another
member requires is needed at least as much as that member, so
need(x) = max(own score, max need of the members that require x), where an
item only the closure added has own score 0. Under a token budget the least
needed items are dropped first, and among equal needs the one later in
dependency order goes first, so what remains stays closed under requirements
wherever the budget allows.

Tokens are estimated as ceil(characters / 4) of the label, title and
statement of each item, the usual rule of thumb for English text with
GPT-style tokenizers. Mathematical notation often takes more tokens per
character, so treat the budget as approximate. The target itself is always
kept and does not count against the budget.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from kg.models import Entity
from retrieval.book_snapshot import BookSnapshot
from retrieval.dependencies import DependencyRetriever
from retrieval.models import (
    CITATION,
    SIMILARITY,
    TERM,
    TRANSITIVE_CITATION,
    ClosureContext,
    Dependency,
    Requirement,
)

CHARS_PER_TOKEN = 4
# Bounds on the expansion, so one item that cites half the book cannot blow up a prompt.
DEFAULT_CLOSURE_DEPTH = 3
DEFAULT_MAX_ITEMS = 80
# A similarity-only proposal of these kinds seeds the closure at any score,
# because a statement needs the definitions of the notions it uses. On a Lean
# blueprint, 19 of the 21 similarity-only proposals that its gold dependencies
# confirmed were definitions.
SIMILARITY_FLOOR_EXEMPT_KINDS = frozenset({"definition", "notation"})
# The minimum score at which a similarity-only proposal of any other kind seeds
# the closure. Chosen with `lemmagraph eval --task context` on a Lean blueprint
# (PFR, 194 gold sources) and a linear-programming textbook (75 sources).
# Against no floor, 0.45 cut the mean context from 15.8 to 11.1 items on the
# blueprint and from 17.6 to 6.9 on the textbook. The recall of direct gold
# dependencies went from 0.982 to 0.980 on the blueprint and stayed 1.0 on the
# textbook. A floor of 0.5 loses a confirmed lemma with score 0.49.
DEFAULT_SIMILARITY_FLOOR = 0.45


def estimate_tokens(entity: Entity) -> int:
    """Estimate the prompt tokens of an item as ceil(characters / 4) of its label, title and statement."""
    characters = len(entity.label) + len(entity.title or "") + len(entity.text)
    return math.ceil(characters / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class _Need:
    """One statement-level requirement of an item, with the words that explain it."""

    entity: Entity
    reason: str
    kind: str  # CITATION or TERM


def build_closure(
    retriever: DependencyRetriever,
    target: Entity,
    *,
    top: int = 10,
    budget_tokens: int | None = None,
    depth: int = DEFAULT_CLOSURE_DEPTH,
    max_items: int = DEFAULT_MAX_ITEMS,
    similarity_floor: float = DEFAULT_SIMILARITY_FLOOR,
) -> ClosureContext:
    """Build the closure of the `top` dependencies of `target`, in dependency order, cut to the budget.

    A dependency that only similarity proposed seeds the closure when it is a
    definition or notation or its score is at least `similarity_floor`, so a
    floor of 0 seeds every one.
    """
    if budget_tokens is not None and budget_tokens < 0:
        raise ValueError(f"budget_tokens must be zero or positive, got {budget_tokens}")
    if not 0.0 <= similarity_floor <= 1.0:
        raise ValueError(f"similarity_floor must be between 0 and 1, got {similarity_floor}")
    snapshot = retriever.snapshot(target.book_id)
    ranked = retriever.dependencies(target, top).dependencies
    members = {dependency.entity.id: dependency for dependency in ranked if _seeds(dependency, similarity_floor)}
    below_floor = [dependency for dependency in ranked if dependency.entity.id not in members]
    _expand(retriever, snapshot, target, members, depth, max_items)

    requirements = _requirements(retriever, snapshot, target, members)
    order = _dependency_order(members, requirements)
    need = _needs(members, requirements)

    kept, dropped = _cut_to_budget(order, need, budget_tokens)
    kept_ids = {dependency.entity.id for dependency in kept} | {target.id}
    return ClosureContext(
        target=target,
        dependencies=kept,
        dropped=dropped,
        requirements=[edge for edge in requirements if edge.source in kept_ids and edge.target in kept_ids],
        budget_tokens=budget_tokens,
        estimated_tokens=sum(estimate_tokens(dependency.entity) for dependency in kept),
        similarity_floor=similarity_floor,
        below_floor=[dependency for dependency in below_floor if dependency.entity.id not in members],
    )


def _seeds(dependency: Dependency, similarity_floor: float) -> bool:
    """Return whether a ranked dependency seeds the closure under the similarity floor."""
    if set(dependency.signals) != {SIMILARITY}:
        return True
    return dependency.entity.kind in SIMILARITY_FLOOR_EXEMPT_KINDS or dependency.score >= similarity_floor


def statement_needs(retriever: DependencyRetriever, snapshot: BookSnapshot, entity: Entity) -> list[_Need]:
    """List what an item's statement needs: the items it cites and the definitions of its terms."""
    needs: list[_Need] = []
    for reference in snapshot.references_from(retriever.store, entity.id):
        cited = snapshot.by_id.get(reference.target_id)
        if reference.in_proof or cited is None or cited.id == entity.id:
            continue
        needs.append(_Need(cited, f'cited as "{reference.surface}" in the statement of {entity.label}', CITATION))

    # MENTIONS edges cover statement and proof, so keep the terms whose words
    # appear in the statement itself.
    statement = entity.text.lower()
    for term in snapshot.mentioned_terms(retriever.store, entity.id):
        if term.name not in statement and term.surface.lower() not in statement:
            continue
        definer = snapshot.definition_in_force(term.id, entity)
        if definer is not None and definer.id != entity.id:
            needs.append(_Need(definer, f'{entity.label} uses the term "{term.surface}" defined there', TERM))
    return needs


def _expand(
    retriever: DependencyRetriever,
    snapshot: BookSnapshot,
    target: Entity,
    members: dict[str, Dependency],
    depth: int,
    max_items: int,
) -> None:
    """Add, breadth-first up to `depth` levels, the items the members' statements need."""
    frontier = list(members.values())
    for _ in range(depth):
        next_frontier: list[Dependency] = []
        for member in frontier:
            for need in statement_needs(retriever, snapshot, member.entity):
                if need.entity.id == target.id:
                    continue
                reason = f"needed because {need.reason}"
                existing = members.get(need.entity.id)
                if existing is not None:
                    if reason not in existing.reasons:
                        existing.reasons.append(reason)
                    continue
                if len(members) >= max_items:
                    return
                added = Dependency(
                    need.entity,
                    score=0.0,
                    reasons=[reason],
                    signals={need.kind: 1.0},
                    via=member.entity.id,
                )
                members[need.entity.id] = added
                next_frontier.append(added)
        frontier = next_frontier
        if not frontier:
            return


def _requirements(
    retriever: DependencyRetriever,
    snapshot: BookSnapshot,
    target: Entity,
    members: dict[str, Dependency],
) -> list[Requirement]:
    """List who uses whom among the target and the members: citations (statement or proof) and terms."""
    edges: dict[tuple[str, str], Requirement] = {}
    for entity in [target, *(member.entity for member in members.values())]:
        for reference in snapshot.references_from(retriever.store, entity.id):
            if reference.target_id in members and reference.target_id != entity.id:
                edges.setdefault((entity.id, reference.target_id), Requirement(entity.id, reference.target_id, CITATION))
        for need in statement_needs(retriever, snapshot, entity):
            if need.entity.id in members:
                edges.setdefault((entity.id, need.entity.id), Requirement(entity.id, need.entity.id, need.kind))
    # The target links to every item retrieval proposed, except a transitive one
    # that an edge from another member already explains.
    reached = {edge.target for edge in edges.values() if edge.source != target.id}
    for member in members.values():
        kind = member.strongest_signal
        if member.score <= 0 or kind is None or (kind == TRANSITIVE_CITATION and member.entity.id in reached):
            continue
        edges.setdefault((target.id, member.entity.id), Requirement(target.id, member.entity.id, kind))
    return list(edges.values())


def _dependency_order(members: dict[str, Dependency], requirements: list[Requirement]) -> list[Dependency]:
    """Order the members so each comes after what it uses, ties by reading order.

    A citation cycle (a forward reference) has no such order; the cycle is broken
    by taking the earliest item in reading order among those left.
    """
    uses: dict[str, set[str]] = {member_id: set() for member_id in members}
    used_by: dict[str, set[str]] = {member_id: set() for member_id in members}
    for edge in requirements:
        if edge.source in members and edge.target in members:
            uses[edge.source].add(edge.target)
            used_by[edge.target].add(edge.source)

    waiting = {member_id: len(targets) for member_id, targets in uses.items()}
    ready = [(members[member_id].entity.order, member_id) for member_id, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[Dependency] = []
    placed: set[str] = set()
    while len(ordered) < len(members):
        if not ready:
            remaining = min((members[m].entity.order, m) for m in members if m not in placed)
            ready.append(remaining)
        _, member_id = heapq.heappop(ready)
        if member_id in placed:
            continue
        placed.add(member_id)
        ordered.append(members[member_id])
        for user in used_by[member_id]:
            waiting[user] -= 1
            if waiting[user] == 0 and user not in placed:
                heapq.heappush(ready, (members[user].entity.order, user))
    return ordered


def _needs(members: dict[str, Dependency], requirements: list[Requirement]) -> dict[str, float]:
    """Propagate need from users to what they use until nothing changes."""
    need = {member_id: member.score for member_id, member in members.items()}
    member_edges = [edge for edge in requirements if edge.source in members and edge.target in members]
    # Each pass lifts needs along one more edge, so len(members) passes reach a fixed point.
    for _ in range(len(members)):
        changed = False
        for edge in member_edges:
            if need[edge.source] > need[edge.target]:
                need[edge.target] = need[edge.source]
                changed = True
        if not changed:
            break
    return need


def _cut_to_budget(
    order: list[Dependency], need: dict[str, float], budget_tokens: int | None
) -> tuple[list[Dependency], list[Dependency]]:
    """Drop the least needed items, later ones first among equals, until the rest fits the budget."""
    if budget_tokens is None:
        return order, []
    total = sum(estimate_tokens(dependency.entity) for dependency in order)
    position = {dependency.entity.id: index for index, dependency in enumerate(order)}
    drop_order = sorted(order, key=lambda dependency: (need[dependency.entity.id], -position[dependency.entity.id]))
    dropped: list[Dependency] = []
    for dependency in drop_order:
        if total <= budget_tokens:
            break
        dropped.append(dependency)
        total -= estimate_tokens(dependency.entity)
    dropped_ids = {dependency.entity.id for dependency in dropped}
    return [dependency for dependency in order if dependency.entity.id not in dropped_ids], dropped
