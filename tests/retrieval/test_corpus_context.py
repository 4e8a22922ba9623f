"""Prompt contexts on the evaluation corpus, with and without the similarity floor, held as floors.

Each bound sits a little beyond the number measured when the default floor was
chosen, so a regression in the closure, the ranking or the ingest fails here.
Measured at top 10, without a floor and then with the default floor:

- blueprint: precision 0.600 to 0.815, recall 0.982 to 0.980, 15.8 to 11.1 items,
  643 to 463 tokens;
- textbook: precision 0.066 to 0.168, recall 1.0 to 1.0, 17.6 to 6.9 items,
  2711 to 953 tokens.
"""

from __future__ import annotations

import pytest

from retrieval.closure import DEFAULT_SIMILARITY_FLOOR
from retrieval.context_evaluation import ContextScores, evaluate_context
from tests.retrieval.conftest import IngestedBook

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _evaluate(book: IngestedBook) -> tuple[ContextScores, ContextScores]:
    """Return the scores of all sources without a floor and with the default floor."""
    services = book.services()
    try:
        floors = (0.0, DEFAULT_SIMILARITY_FLOOR)
        evaluation = evaluate_context(services.store, services.vectors, book.book_id, book.gold, similarity_floors=floors)
    finally:
        services.close()
    unfloored, floored = (run.groups["all"] for run in evaluation.runs)
    return unfloored, floored


@pytest.fixture(scope="module")
def blueprint(blueprint_book) -> tuple[ContextScores, ContextScores]:
    return _evaluate(blueprint_book)


@pytest.fixture(scope="module")
def optimization(optimization_book) -> tuple[ContextScores, ContextScores]:
    return _evaluate(optimization_book)


def test_blueprint_context_with_floor(blueprint):
    _, floored = blueprint

    assert floored.recall >= 0.97
    assert floored.precision >= 0.79
    assert floored.mean_items <= 11.5
    assert floored.mean_tokens <= 480


def test_optimization_context_with_floor(optimization):
    _, floored = optimization

    assert floored.recall >= 0.99
    assert floored.precision >= 0.16
    assert floored.mean_items <= 7.5
    assert floored.mean_tokens <= 1000


@pytest.mark.parametrize("book", ["blueprint", "optimization"])
def test_floor_costs_little_recall(request, book):
    unfloored, floored = request.getfixturevalue(book)

    assert unfloored.recall - floored.recall <= 0.01


@pytest.mark.parametrize("book", ["blueprint", "optimization"])
def test_floor_cuts_context(request, book):
    unfloored, floored = request.getfixturevalue(book)

    assert floored.mean_items <= 0.75 * unfloored.mean_items
    assert floored.mean_tokens <= 0.75 * unfloored.mean_tokens
    assert floored.precision > unfloored.precision
