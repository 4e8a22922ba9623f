"""Context closure on the chain book: statement needs, order, token budget and similarity floor."""

import pytest

from retrieval.closure import DEFAULT_SIMILARITY_FLOOR, build_closure, estimate_tokens
from retrieval.models import SIMILARITY, ClosureContext


def _numbers(dependencies):
    return [dependency.entity.number for dependency in dependencies]


def _exercise(graph):
    return graph.entities[5]


def test_closure_adds_statement_needs(chain_retriever, chain_graph):
    # top=1 selects only the cited Lemma 1.3; the closure must add what its
    # statement cites (Definition 1.2) and the definition of the term that
    # Definition 1.2 uses (Definition 1.1, the one in force before it).
    closure = build_closure(chain_retriever, _exercise(chain_graph), top=1)

    assert isinstance(closure, ClosureContext)
    assert set(_numbers(closure.dependencies)) == {"1.3", "1.2", "1.1"}
    added = {dependency.entity.number: dependency for dependency in closure.dependencies}
    assert any("Lemma 1.3" in reason and "Definition 1.2" in reason for reason in added["1.2"].reasons)
    assert any('"convex set"' in reason for reason in added["1.1"].reasons)


def test_closure_skips_proof_only_citations(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, chain_graph.entities[2], top=0)

    # Lemma 1.3 cites Definition 1.1 only in its proof, so top=0 adds nothing.
    assert closure.dependencies == []


def test_closure_in_dependency_order(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, _exercise(chain_graph), top=10)

    order = [dependency.entity.id for dependency in closure.in_dependency_order()]
    position = {entity_id: index for index, entity_id in enumerate(order)}
    for edge in closure.requirements:
        if edge.source in position and edge.target in position:
            assert position[edge.target] < position[edge.source], f"{edge.target} must precede {edge.source}"
    assert position["chain:definition:1.1"] < position["chain:definition:1.2"] < position["chain:lemma:1.3"]


def test_closure_without_budget_drops_nothing(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, _exercise(chain_graph), top=10)

    assert closure.dropped == []
    assert closure.budget_tokens is None
    assert closure.estimated_tokens == sum(estimate_tokens(d.entity) for d in closure.dependencies)


def test_budget_cut_keeps_needed_items(chain_retriever, chain_graph):
    full = build_closure(chain_retriever, _exercise(chain_graph), top=1)
    chain_tokens = {dependency.entity.number: estimate_tokens(dependency.entity) for dependency in full.dependencies}
    budget = chain_tokens["1.2"] + chain_tokens["1.1"]

    closure = build_closure(chain_retriever, _exercise(chain_graph), top=1, budget_tokens=budget)

    # All three share the lemma's need, so the latest in dependency order goes first.
    assert _numbers(closure.dropped) == ["1.3"]
    assert _numbers(closure.dependencies) == ["1.1", "1.2"]
    assert closure.estimated_tokens <= budget


def test_budget_drops_least_needed_first(chain_retriever, chain_graph):
    full = build_closure(chain_retriever, _exercise(chain_graph), top=10)
    scores = {dependency.entity.id: dependency.score for dependency in full.dependencies}
    budget = full.estimated_tokens - 1

    closure = build_closure(chain_retriever, _exercise(chain_graph), top=10, budget_tokens=budget)

    assert closure.dropped, "a budget one token short must drop something"
    kept_scores = [scores[dependency.entity.id] for dependency in closure.dependencies]
    assert scores[closure.dropped[0].entity.id] <= max(kept_scores)
    assert "chain:lemma:1.3" in {dependency.entity.id for dependency in closure.dependencies}
    assert closure.estimated_tokens <= budget


def test_zero_budget_drops_everything(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, _exercise(chain_graph), top=10, budget_tokens=0)

    assert closure.dependencies == []
    assert closure.estimated_tokens == 0
    assert closure.dropped


def test_negative_budget_rejected(chain_retriever, chain_graph):
    with pytest.raises(ValueError, match="budget_tokens"):
        build_closure(chain_retriever, _exercise(chain_graph), budget_tokens=-1)


def test_token_estimate_is_chars_over_four(chain_graph):
    entity = chain_graph.entities[0]
    characters = len(entity.label) + len(entity.title) + len(entity.text)

    assert estimate_tokens(entity) == -(-characters // 4)


def _ids(dependencies):
    return {dependency.entity.id for dependency in dependencies}


def test_floor_leaves_out_weak_similarity(chain_retriever, chain_graph):
    # Example 1.4, the bakery, is proposed for Exercise 1.6 by similarity alone, with a low score.
    unfloored = build_closure(chain_retriever, _exercise(chain_graph), top=10, similarity_floor=0.0)
    floored = build_closure(chain_retriever, _exercise(chain_graph), top=10)

    assert "chain:example:1.4" in _ids(unfloored.dependencies)
    assert unfloored.below_floor == []
    assert "chain:example:1.4" not in _ids(floored.dependencies)
    assert _ids(floored.below_floor) == {"chain:example:1.4"}
    assert floored.similarity_floor == DEFAULT_SIMILARITY_FLOOR


def test_floor_keeps_citations_and_terms(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, _exercise(chain_graph), top=10, similarity_floor=1.0)

    # Lemma 1.3 is cited, Definitions 1.1 and 1.2 are reached through it, and
    # Definition 1.5 defines a term the exercise uses: every one seeds at any floor.
    assert _ids(closure.dependencies) == {
        "chain:lemma:1.3", "chain:definition:1.2", "chain:definition:1.1", "chain:definition:1.5",
    }
    for dependency in closure.dependencies:
        assert set(dependency.signals) != {SIMILARITY}, dependency.entity.id


def test_floor_exempts_definitions(chain_retriever, chain_graph):
    # Only similarity proposes anything for Definition 1.5, the last definition before the exercise.
    target = chain_graph.entities[4]
    ranked = chain_retriever.dependencies(target, 10).dependencies
    assert all(set(dependency.signals) == {SIMILARITY} for dependency in ranked)

    closure = build_closure(chain_retriever, target, top=10, similarity_floor=1.0)

    assert _ids(closure.dependencies) == {"chain:definition:1.1", "chain:definition:1.2"}
    assert _ids(closure.below_floor) == {"chain:lemma:1.3", "chain:example:1.4"}


def test_floor_boundary_is_inclusive(chain_retriever, chain_graph):
    target = chain_graph.entities[4]
    ranked = {dependency.entity.id: dependency for dependency in chain_retriever.dependencies(target, 10).dependencies}
    lemma_score = ranked["chain:lemma:1.3"].score

    at_score = build_closure(chain_retriever, target, top=10, similarity_floor=lemma_score)
    above_score = build_closure(chain_retriever, target, top=10, similarity_floor=min(lemma_score + 0.01, 1.0))

    assert "chain:lemma:1.3" in _ids(at_score.dependencies)
    assert "chain:lemma:1.3" in _ids(above_score.below_floor)
    assert "chain:lemma:1.3" not in _ids(above_score.dependencies)


@pytest.mark.parametrize("floor", [-0.1, 1.5])
def test_floor_out_of_range_rejected(chain_retriever, chain_graph, floor):
    with pytest.raises(ValueError, match="similarity_floor"):
        build_closure(chain_retriever, _exercise(chain_graph), similarity_floor=floor)
