"""Resolving printed item references against a real embedded store."""

import pytest

from commands.references import parse_ref, resolve_item
from kg.errors import NotFoundError
from kg.ladybug_store import LadybugStore
from kg.models import Book, BookGraph, Entity


def _entity(entity_id, kind, number, order):
    return Entity(entity_id, "b", kind, number, None, "text", order + 1, order)


@pytest.fixture
def store(tmp_path):
    graph = BookGraph(
        book=Book("b", "Book", "b.pdf", 9, "0" * 64),
        entities=[
            _entity("b:lemma:1.1", "lemma", "1.1", 0),
            _entity("b:example:1.1", "example", "1.1", 1),
            _entity("b:example:4.1", "example", "4.1", 2),
            _entity("b:example:4.1~2", "example", "4.1", 3),
            _entity("b:exercise:3.4", "exercise", "3.4", 4),
            _entity("b:exercise:3.41", "exercise", "3.41", 5),
        ],
    )
    with LadybugStore(tmp_path / "graph.lbdb") as opened:
        opened.write_book(graph)
        yield opened


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("Lemma 3.2", ("lemma", "3.2")),
        ("lemmas 3.2", ("lemma", "3.2")),
        ("Thm. 2.1", ("theorem", "2.1")),
        ("Ex 3.4", ("exercise", "3.4")),
        ("3.4", (None, "3.4")),
        ("B.1", (None, "B.1")),
        ("Ex.3.4", ("exercise", "3.4")),
        ("Exercise 5.3.7", ("exercise", "5.3.7")),
        ("Lemma 3.2.", ("lemma", "3.2")),
    ],
)
def test_parse_ref_forms(ref, expected):
    assert parse_ref(ref) == expected


@pytest.mark.parametrize("ref", ["Remark", "lemmas", "Thm"])
def test_parse_ref_kind_without_number(ref):
    with pytest.raises(NotFoundError, match="has no number"):
        parse_ref(ref)


def test_parse_ref_empty_text():
    with pytest.raises(NotFoundError, match="cannot read item reference ''"):
        parse_ref("")


def test_parse_ref_unknown_kind():
    with pytest.raises(NotFoundError, match="unknown item kind 'Gizmo'"):
        parse_ref("Gizmo 3.2")


def test_resolve_by_kind_and_number(store):
    assert resolve_item(store, "b", "Exercise 3.4").id == "b:exercise:3.4"


def test_resolve_by_id(store):
    assert resolve_item(store, "b", "b:example:4.1~2").id == "b:example:4.1~2"


def test_bare_number_shared_by_kinds_asks_for_kind(store):
    with pytest.raises(NotFoundError) as raised:
        resolve_item(store, "b", "1.1")

    message = str(raised.value)
    assert "add the kind" in message
    assert "'b:lemma:1.1' (Lemma 1.1, page 1)" in message
    assert "'b:example:1.1' (Example 1.1, page 2)" in message


def test_duplicate_printed_number_asks_for_id(store):
    with pytest.raises(NotFoundError) as raised:
        resolve_item(store, "b", "Example 4.1")

    message = str(raised.value)
    assert "give the item id" in message
    assert "'b:example:4.1~2'" in message


def test_unknown_item_suggests_close_labels(store):
    with pytest.raises(NotFoundError) as raised:
        resolve_item(store, "b", "Exercise 3.14")

    message = str(raised.value)
    assert message.startswith("no Exercise 3.14 in b; did you mean")
    assert "Exercise 3.4" in message
    assert "Exercise 3.41" in message


def test_unknown_book_raises_not_found(store):
    with pytest.raises(NotFoundError, match="nope"):
        resolve_item(store, "nope", "Lemma 1.1")
