"""Contract tests that every `GraphStore` backend must pass.

The `store` fixture runs each test once per backend in `BACKENDS`. A backend
that needs a server adds a `pytest.param` with a marker that skips it when the
server is absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from kg.errors import GraphStoreError, NotFoundError
from kg.factory import open_graph_store
from kg.models import (
    CITES_SECTION,
    DEFINES,
    MENTIONS,
    REFERENCES,
    Book,
    BookGraph,
    CheckRecord,
    Edge,
    Entity,
    LeanTarget,
    Reference,
    Section,
    SectionReference,
    Term,
    TermLink,
)
from kg.store import GraphStore
from kg.workspace import Workspace

BACKENDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]

DEF_GROUP = "alg:definition:1.1"
LEMMA = "alg:lemma:1.2"
THEOREM = "alg:theorem:1.3"
EXERCISE = "alg:exercise:1.3"
REMARK = "alg:remark:u4"
TERM_GROUP = "alg:term:group"
TERM_ORDER = "alg:term:order"


@pytest.fixture(params=BACKENDS)
def open_store(request, tmp_path) -> Iterator[Callable[[], GraphStore]]:
    """A function that opens the backend under test on the same data each time it is called."""
    opened: list[GraphStore] = []
    workspace = Workspace(tmp_path / "home")
    connection = request.getfixturevalue("empty_neo4j") if request.param == "neo4j" else None

    def open_one() -> GraphStore:
        store = open_graph_store(workspace, request.param, connection)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store) -> GraphStore:
    return open_store()


def make_entity(entity_id: str, order: int, **fields) -> Entity:
    book_id, kind, number = entity_id.split(":")
    values = {
        "id": entity_id,
        "book_id": book_id,
        "kind": kind,
        "number": None if number.startswith("u") else number,
        "title": None,
        "text": f"Text of {entity_id}.",
        "page": 10 + order,
        "order": order,
        "proof": "",
        "section": "1 Groups",
    }
    values.update(fields)
    return Entity(**values)


def algebra_book(book_id: str = "alg", title: str = "Algebra") -> BookGraph:
    """A small book whose lists are deliberately not in reading or id order."""

    def eid(entity_id: str) -> str:
        return entity_id.replace("alg:", f"{book_id}:", 1)

    entities = [
        make_entity(eid(THEOREM), 2, title="Lagrange", proof="By Lemma 1.2 and Definition 1.1."),
        make_entity(eid(DEF_GROUP), 0, title="Group"),
        make_entity(eid(REMARK), 4, section=None),
        make_entity(eid(LEMMA), 1),
        make_entity(eid(EXERCISE), 3),
    ]
    references = [
        Reference(eid(THEOREM), eid(LEMMA), "Lemma 1.2", 12, in_proof=True),
        Reference(eid(LEMMA), eid(DEF_GROUP), "Definition 1.1", 11),
        Reference(eid(THEOREM), eid(DEF_GROUP), "Definition 1.1", 12, in_proof=True),
        Reference(eid(EXERCISE), eid(THEOREM), "Theorem 1.3", 13),
        Reference(eid(THEOREM), eid(LEMMA), "the lemma", 12),
    ]
    terms = [
        Term(eid(TERM_ORDER), book_id, "order", "orders"),
        Term(eid(TERM_GROUP), book_id, "group", "group"),
    ]
    term_links = [
        TermLink(eid(DEF_GROUP), eid(TERM_GROUP), DEFINES),
        TermLink(eid(REMARK), eid(TERM_GROUP), DEFINES),
        TermLink(eid(LEMMA), eid(TERM_ORDER), DEFINES),
        TermLink(eid(THEOREM), eid(TERM_GROUP), MENTIONS),
        TermLink(eid(THEOREM), eid(TERM_ORDER), MENTIONS),
    ]
    book = Book(book_id, title, f"/books/{book_id}.pdf", 120, "ab" * 32, "2024-05-01T12:00:00+00:00")
    return BookGraph(book, entities, references, terms, term_links)


def make_target(target_id: str, entity_id: str, created_at: str, context_ids: list[str]) -> LeanTarget:
    return LeanTarget(
        id=target_id,
        entity_id=entity_id,
        book_id=entity_id.split(":")[0],
        informal_statement=f"Statement of {entity_id}.",
        lean_code="theorem t : True := trivial",
        status="checked",
        check_output="",
        model="test-model",
        created_at=created_at,
        context_ids=context_ids,
        lean_path=f"Lemmagraph/Targets/{target_id}.lean",
        prompt_tokens=120,
        completion_tokens=40,
    )


# --- Books and items ----------------------------------------------------------


def test_entities_in_reading_order(store):
    store.write_book(algebra_book())

    ids = [entity.id for entity in store.entities("alg")]

    assert ids == [DEF_GROUP, LEMMA, THEOREM, EXERCISE, REMARK]


def test_entity_round_trips_every_field(store):
    graph = algebra_book()
    store.write_book(graph)

    for written in graph.entities:
        assert store.entity(written.id) == written


def test_unnumbered_entity_keeps_null_fields(store):
    store.write_book(algebra_book())

    remark = store.entity(REMARK)

    assert remark.number is None
    assert remark.title is None
    assert remark.section is None


def test_books_lists_counts_by_kind(store):
    store.write_book(algebra_book("zeta", "Zeta"))
    store.write_book(algebra_book())

    summaries = store.books()

    assert [summary.book.id for summary in summaries] == ["alg", "zeta"]
    assert summaries[0].book == algebra_book().book
    assert summaries[0].entity_count == 5
    assert summaries[0].counts_by_kind == {
        "definition": 1,
        "exercise": 1,
        "lemma": 1,
        "remark": 1,
        "theorem": 1,
    }


def test_book_without_items_has_zero_counts(store):
    graph = BookGraph(Book("empty", "Empty", "/books/empty.pdf", 3, "cd" * 32))
    store.write_book(graph)

    summary = store.book("empty")

    assert summary.book == graph.book
    assert summary.entity_count == 0
    assert summary.counts_by_kind == {}
    assert [s.book.id for s in store.books()] == ["empty"]
    assert store.entities("empty") == []
    assert store.edges("empty") == []


def test_find_entities_by_number_any_kind(store):
    store.write_book(algebra_book())

    found = store.find_entities("alg", "1.3")

    assert [entity.id for entity in found] == [THEOREM, EXERCISE]


def test_find_entities_by_number_and_kind(store):
    store.write_book(algebra_book())

    assert [e.id for e in store.find_entities("alg", "1.3", kind="exercise")] == [EXERCISE]
    assert [e.id for e in store.find_entities("alg", "1.3", kind="theorem")] == [THEOREM]
    assert store.find_entities("alg", "1.3", kind="lemma") == []
    assert store.find_entities("alg", "9.9") == []


def test_find_entities_stays_in_its_book(store):
    store.write_book(algebra_book())
    store.write_book(algebra_book("geo", "Geometry"))

    found = store.find_entities("geo", "1.1")

    assert [entity.id for entity in found] == ["geo:definition:1.1"]


# --- References, terms and edges ------------------------------------------------


def test_references_from_in_occurrence_order(store):
    store.write_book(algebra_book())

    references = store.references_from(THEOREM)

    assert references == [
        Reference(THEOREM, LEMMA, "Lemma 1.2", 12, in_proof=True),
        Reference(THEOREM, DEF_GROUP, "Definition 1.1", 12, in_proof=True),
        Reference(THEOREM, LEMMA, "the lemma", 12, in_proof=False),
    ]


def test_references_to_lists_citing_items(store):
    store.write_book(algebra_book())

    references = store.references_to(DEF_GROUP)

    assert sorted(references, key=lambda ref: ref.source_id) == [
        Reference(LEMMA, DEF_GROUP, "Definition 1.1", 11),
        Reference(THEOREM, DEF_GROUP, "Definition 1.1", 12, in_proof=True),
    ]


def test_item_without_references_returns_empty(store):
    store.write_book(algebra_book())

    assert store.references_from(DEF_GROUP) == []
    assert store.references_to(REMARK) == []


def test_terms_defined_and_mentioned(store):
    store.write_book(algebra_book())

    assert store.terms_defined_by(DEF_GROUP) == [Term(TERM_GROUP, "alg", "group", "group")]
    assert store.terms_defined_by(THEOREM) == []
    mentioned = store.terms_mentioned_by(THEOREM)
    assert sorted(term.id for term in mentioned) == [TERM_GROUP, TERM_ORDER]
    assert store.terms_mentioned_by(DEF_GROUP) == []


def test_definers_of_in_reading_order(store):
    store.write_book(algebra_book())

    definers = store.definers_of(TERM_GROUP)

    assert [entity.id for entity in definers] == [DEF_GROUP, REMARK]


def test_edges_sorted_by_type_source_target(store):
    store.write_book(algebra_book())

    edges = store.edges("alg")

    # THEOREM cites LEMMA twice but that gives one edge.
    assert edges == [
        Edge(DEF_GROUP, TERM_GROUP, DEFINES),
        Edge(LEMMA, TERM_ORDER, DEFINES),
        Edge(REMARK, TERM_GROUP, DEFINES),
        Edge(THEOREM, TERM_GROUP, MENTIONS),
        Edge(THEOREM, TERM_ORDER, MENTIONS),
        Edge(EXERCISE, THEOREM, REFERENCES),
        Edge(LEMMA, DEF_GROUP, REFERENCES),
        Edge(THEOREM, DEF_GROUP, REFERENCES),
        Edge(THEOREM, LEMMA, REFERENCES),
    ]


# --- Re-ingest and delete ----------------------------------------------------------


def second_version() -> BookGraph:
    """The algebra book re-ingested: the remark and the term 'order' are gone, a title changed."""
    graph = algebra_book(title="Algebra, 2nd printing")
    graph.entities = [e for e in graph.entities if e.id != REMARK]
    graph.entities[0] = dataclasses.replace(graph.entities[0], title="Lagrange's theorem")
    graph.terms = [t for t in graph.terms if t.id != TERM_ORDER]
    graph.term_links = [
        link for link in graph.term_links if link.term_id != TERM_ORDER and link.entity_id != REMARK
    ]
    return graph


def test_rewrite_same_graph_has_no_duplicates(store):
    store.write_book(algebra_book())
    store.write_book(algebra_book())

    assert len(store.books()) == 1
    assert store.book("alg").entity_count == 5
    assert len(store.entities("alg")) == 5
    assert len(store.edges("alg")) == 9
    assert len(store.references_from(THEOREM)) == 3
    assert len(store.references_to(DEF_GROUP)) == 2
    assert len(store.definers_of(TERM_GROUP)) == 2
    assert len(store.terms_mentioned_by(THEOREM)) == 2


def test_rewrite_replaces_earlier_version(store):
    store.write_book(algebra_book())

    store.write_book(second_version())

    assert store.book("alg").book.title == "Algebra, 2nd printing"
    assert [e.id for e in store.entities("alg")] == [DEF_GROUP, LEMMA, THEOREM, EXERCISE]
    assert store.entity(THEOREM).title == "Lagrange's theorem"
    assert [e.id for e in store.definers_of(TERM_GROUP)] == [DEF_GROUP]
    assert store.terms_mentioned_by(THEOREM) == [Term(TERM_GROUP, "alg", "group", "group")]
    with pytest.raises(NotFoundError):
        store.entity(REMARK)
    with pytest.raises(NotFoundError):
        store.definers_of(TERM_ORDER)


def test_lean_targets_survive_reingest(store):
    store.write_book(algebra_book())
    lemma_target = make_target("t-lemma", LEMMA, "2024-05-02T10:00:00", [THEOREM, REMARK, DEF_GROUP])
    store.write_target(lemma_target)
    store.write_target(make_target("t-remark", REMARK, "2024-05-02T11:00:00", [DEF_GROUP]))

    store.write_book(second_version())

    # The context item that no longer exists drops out, and the others keep their order.
    expected = dataclasses.replace(lemma_target, context_ids=[THEOREM, DEF_GROUP])
    assert store.targets(LEMMA) == [expected]


def test_lean_target_of_removed_item_is_deleted(store):
    store.write_book(algebra_book())
    store.write_target(make_target("t-remark", REMARK, "2024-05-02T11:00:00", [DEF_GROUP]))

    store.write_book(second_version())
    graph = algebra_book()
    store.write_book(graph)

    assert store.targets(REMARK) == []


def test_delete_book_leaves_other_book(store):
    store.write_book(algebra_book())
    store.write_book(algebra_book("geo", "Geometry"))
    geo_target = make_target("t-geo", "geo:lemma:1.2", "2024-05-02T10:00:00", ["geo:definition:1.1"])
    store.write_target(geo_target)
    store.write_target(make_target("t-alg", LEMMA, "2024-05-02T10:00:00", [DEF_GROUP]))
    geo_edges = store.edges("geo")

    store.delete_book("alg")

    assert [summary.book.id for summary in store.books()] == ["geo"]
    assert len(store.entities("geo")) == 5
    assert store.edges("geo") == geo_edges
    assert store.targets("geo:lemma:1.2") == [geo_target]
    assert [e.id for e in store.definers_of("geo:term:group")] == ["geo:definition:1.1", "geo:remark:u4"]


def test_delete_book_removes_its_items(store):
    store.write_book(algebra_book())
    store.write_target(make_target("t-alg", LEMMA, "2024-05-02T10:00:00", [DEF_GROUP]))

    store.delete_book("alg")

    assert store.books() == []
    for call in (
        lambda: store.book("alg"),
        lambda: store.entity(LEMMA),
        lambda: store.targets(LEMMA),
        lambda: store.definers_of(TERM_GROUP),
        lambda: store.delete_book("alg"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_book_id_reusable_after_delete(store):
    store.write_book(algebra_book())
    store.delete_book("alg")

    store.write_book(algebra_book())

    assert len(store.entities("alg")) == 5
    assert len(store.edges("alg")) == 9


# --- Lean targets ----------------------------------------------------------------


def test_targets_round_trip_oldest_first(store):
    store.write_book(algebra_book())
    # The newer attempt has the smaller id, so id order would fail the check.
    newer = make_target("t-a", THEOREM, "2024-05-03T09:00:00", [LEMMA, REMARK, DEF_GROUP])
    older = make_target("t-b", THEOREM, "2024-05-01T09:00:00", [])
    older.status = "failed"
    older.check_output = "error: unknown identifier 'Group'"

    store.write_target(newer)
    store.write_target(older)

    assert store.targets(THEOREM) == [older, newer]
    assert store.targets(LEMMA) == []


def test_write_target_replaces_same_id(store):
    store.write_book(algebra_book())
    draft = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [DEF_GROUP, THEOREM])
    store.write_target(draft)
    checked = dataclasses.replace(draft, status="checked", context_ids=[THEOREM])

    store.write_target(checked)

    assert store.targets(LEMMA) == [checked]


def test_target_attempt_fields_round_trip(store):
    store.write_book(algebra_book())
    target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [DEF_GROUP])
    target.status = "failed"
    target.status_reason = "semantic review: the Lean statement is weaker"
    target.checks = [
        CheckRecord("parse", "failed", "invalid JSON: Expecting value at line 1", round=0),
        CheckRecord("structure", "passed", "Structure check passed.", round=1),
        CheckRecord("compile", "skipped", "not compiled: no `lake` on PATH", round=1),
        CheckRecord("semantic review", "failed", "Verdict: weaker\n- drops a hypothesis", round=1),
    ]
    target.verdict = "weaker"
    target.raw_answer = '{"lean_code": "theorem t : True := sorry"}'
    target.repair_rounds = 1
    target.dropped_context_ids = [THEOREM, REMARK]
    target.local_definitions = ["IsNice"]
    target.assumptions = ["Groups are written multiplicatively.", "ℝ replaces an ordered field."]
    target.cost_usd = 0.0123
    target.price_known = True
    target.cached_calls = 2

    store.write_target(target)

    (stored,) = store.targets(LEMMA)
    assert stored == target
    assert stored.checks[3].output == "Verdict: weaker\n- drops a hypothesis"
    assert stored.dropped_context_ids == [THEOREM, REMARK]


def test_target_new_fields_default_when_unset(store):
    store.write_book(algebra_book())
    target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [])

    store.write_target(target)

    (stored,) = store.targets(LEMMA)
    assert stored.checks == []
    assert stored.dropped_context_ids == []
    assert stored.verdict == ""
    assert stored.cost_usd == 0.0
    assert stored.price_known is False


def test_write_target_rejects_unknown_context_item(store):
    store.write_book(algebra_book())
    target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [DEF_GROUP, "alg:lemma:9.9"])

    with pytest.raises(NotFoundError, match="alg:lemma:9.9"):
        store.write_target(target)
    assert store.targets(LEMMA) == []


# --- Missing books and items -------------------------------------------------------

MISSING_CALLS = {
    "book": lambda s: s.book("nope"),
    "entities": lambda s: s.entities("nope"),
    "find_entities": lambda s: s.find_entities("nope", "1.1"),
    "edges": lambda s: s.edges("nope"),
    "sections": lambda s: s.sections("nope"),
    "delete_book": lambda s: s.delete_book("nope"),
    "entity": lambda s: s.entity("alg:lemma:nope"),
    "references_from": lambda s: s.references_from("alg:lemma:nope"),
    "references_to": lambda s: s.references_to("alg:lemma:nope"),
    "section_references_from": lambda s: s.section_references_from("alg:lemma:nope"),
    "terms_defined_by": lambda s: s.terms_defined_by("alg:lemma:nope"),
    "terms_mentioned_by": lambda s: s.terms_mentioned_by("alg:lemma:nope"),
    "definers_of": lambda s: s.definers_of("alg:term:nope"),
    "targets": lambda s: s.targets("alg:lemma:nope"),
    "write_target": lambda s: s.write_target(make_target("t", "alg:lemma:nope", "2024", [])),
}


@pytest.mark.parametrize("call", MISSING_CALLS.values(), ids=MISSING_CALLS.keys())
def test_missing_id_raises_not_found(store, call):
    store.write_book(algebra_book())

    with pytest.raises(NotFoundError, match="nope") as raised:
        call(store)

    assert "lemmagraph books" in str(raised.value)


# --- Persistence and verbatim text ---------------------------------------------------


def test_data_persists_after_reopen(open_store):
    first = open_store()
    graph = algebra_book()
    first.write_book(graph)
    target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [DEF_GROUP])
    first.write_target(target)
    first.close()

    second = open_store()

    assert [e.id for e in second.entities("alg")] == [DEF_GROUP, LEMMA, THEOREM, EXERCISE, REMARK]
    assert len(second.edges("alg")) == 9
    assert second.targets(LEMMA) == [target]


AWKWARD_TEXTS = [
    "it's \"quoted\" and 'single-quoted'",
    "back\\slash \\frac{a}{b} \\\\ end\\",
    "unicode: ∀ε>0 ∃δ, 𝔼[X] ≤ ‖x‖₂, naïve, 群",
    "'}) MATCH (n) DETACH DELETE n //",
    "$book_id $entity_id {id: $x} `Entity` ${}",
    "line one\nline two\r\n\ttabbed",
    "",
]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_text_stored_verbatim(store, text):
    graph = algebra_book()
    graph.entities[0] = dataclasses.replace(
        graph.entities[0], title=text, text=text, proof=text, section=text
    )
    graph.references[0] = dataclasses.replace(graph.references[0], surface=text)
    graph.terms[1] = dataclasses.replace(graph.terms[1], surface=text)
    graph.book = dataclasses.replace(graph.book, title=text)
    store.write_book(graph)
    target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [])
    target.lean_code = text
    target.check_output = text
    store.write_target(target)

    theorem = store.entity(THEOREM)
    assert theorem.title == text
    assert theorem.text == text
    assert theorem.proof == text
    assert theorem.section == text
    assert store.references_from(THEOREM)[0].surface == text
    assert store.terms_defined_by(DEF_GROUP)[0].surface == text
    assert store.book("alg").book.title == text
    assert store.targets(LEMMA)[0].lean_code == text
    assert store.targets(LEMMA)[0].check_output == text
    assert len(store.entities("alg")) == 5


def test_awkward_ids_round_trip(store):
    book_id = "o'neil"
    graph = BookGraph(Book(book_id, "O'Neil", "/x.pdf", 1, ""))
    entity_id = "o'neil:lemma:1.2\")"
    graph.entities = [make_entity("o'neil:lemma:x", 0, id=entity_id)]
    store.write_book(graph)

    assert store.entity(entity_id).id == entity_id
    assert [e.id for e in store.find_entities(book_id, "x", kind="lemma")] == [entity_id]


# --- Invalid input -----------------------------------------------------------------


def test_reference_to_unknown_item_rejected(store):
    store.write_book(algebra_book())
    broken = second_version()
    broken.references.append(Reference(THEOREM, "alg:lemma:9.9", "Lemma 9.9", 12))

    with pytest.raises(GraphStoreError, match="alg:lemma:9.9"):
        store.write_book(broken)

    # The earlier version is still there, untouched.
    assert store.book("alg").book.title == "Algebra"
    assert len(store.entities("alg")) == 5


def test_item_id_of_another_book_rejected(store):
    store.write_book(algebra_book())
    intruder = algebra_book("geo", "Geometry")
    intruder.entities.append(make_entity(LEMMA, 9, book_id="geo"))

    with pytest.raises(GraphStoreError, match="already used by book 'alg'"):
        store.write_book(intruder)

    assert [s.book.id for s in store.books()] == ["alg"]
    assert store.entity(LEMMA).book_id == "alg"


def test_duplicate_item_ids_rejected(store):
    graph = algebra_book()
    graph.entities.append(graph.entities[0])

    with pytest.raises(GraphStoreError, match="duplicate item ids"):
        store.write_book(graph)

    assert store.books() == []


# --- Sections ------------------------------------------------------------------------

CHAPTER = "alg:section:1"
GROUPS = "alg:section:1.1"
ORDERS = "alg:section:1.2"
NOTES = "alg:section:notes"


def sectioned_book(book_id: str = "alg") -> BookGraph:
    """The algebra book with a chapter, two sections, an unnumbered section and citations of them.

    The sections are listed out of reading order, so the store must sort them.
    """

    def sid(section_id: str) -> str:
        return section_id.replace("alg:", f"{book_id}:", 1)

    graph = algebra_book(book_id)
    graph.sections = [
        Section(sid(ORDERS), book_id, "1.2", "Orders", 2, 12, sid(CHAPTER), 2),
        Section(sid(CHAPTER), book_id, "1", "Groups and orders", 1, 10, None, 0),
        Section(sid(NOTES), book_id, None, "Notes", 1, 14, None, 3),
        Section(sid(GROUPS), book_id, "1.1", "Groups", 2, 10, sid(CHAPTER), 1),
    ]
    in_section = {"definition": GROUPS, "lemma": GROUPS, "theorem": ORDERS, "exercise": ORDERS}
    graph.entities = [
        dataclasses.replace(entity, section_id=sid(in_section[entity.kind]) if entity.kind in in_section else None)
        for entity in graph.entities
    ]
    theorem = THEOREM.replace("alg:", f"{book_id}:", 1)
    exercise = EXERCISE.replace("alg:", f"{book_id}:", 1)
    graph.section_references = [
        SectionReference(theorem, sid(GROUPS), "Section 1.1", 12),
        SectionReference(exercise, sid(ORDERS), "§1.2", 13),
        SectionReference(theorem, sid(CHAPTER), "§1", 12, in_proof=True),
    ]
    return graph


def test_sections_round_trip_in_order(store):
    graph = sectioned_book()
    store.write_book(graph)

    sections = store.sections("alg")

    assert [section.id for section in sections] == [CHAPTER, GROUPS, ORDERS, NOTES]
    assert sections == sorted(graph.sections, key=lambda section: section.order)
    assert {section.id: section.parent_id for section in sections} == {
        CHAPTER: None,
        GROUPS: CHAPTER,
        ORDERS: CHAPTER,
        NOTES: None,
    }


def test_entity_section_id_round_trips(store):
    store.write_book(sectioned_book())

    assert store.entity(LEMMA).section_id == GROUPS
    assert store.entity(THEOREM).section_id == ORDERS
    assert store.entity(REMARK).section_id is None


def test_book_without_sections_lists_none(store):
    store.write_book(algebra_book())

    assert store.sections("alg") == []
    assert store.section_references_from(THEOREM) == []


def test_section_references_round_trip(store):
    store.write_book(sectioned_book())

    assert store.section_references_from(THEOREM) == [
        SectionReference(THEOREM, GROUPS, "Section 1.1", 12),
        SectionReference(THEOREM, CHAPTER, "§1", 12, in_proof=True),
    ]
    assert store.section_references_from(EXERCISE) == [SectionReference(EXERCISE, ORDERS, "§1.2", 13)]
    assert store.section_references_from(LEMMA) == []


def test_edges_include_section_citations(store):
    store.write_book(sectioned_book())

    edges = store.edges("alg")

    assert [edge for edge in edges if edge.type == CITES_SECTION] == [
        Edge(EXERCISE, ORDERS, CITES_SECTION),
        Edge(THEOREM, CHAPTER, CITES_SECTION),
        Edge(THEOREM, GROUPS, CITES_SECTION),
    ]
    assert len(edges) == 12


def test_delete_book_removes_sections(store):
    store.write_book(sectioned_book())
    store.write_book(sectioned_book("geo"))

    store.delete_book("alg")

    with pytest.raises(NotFoundError):
        store.sections("alg")
    with pytest.raises(NotFoundError):
        store.section_references_from(THEOREM)
    assert len(store.sections("geo")) == 4
    assert len(store.section_references_from("geo:theorem:1.3")) == 2

    # The same section ids can be written again, so no node of the deleted book is left.
    store.write_book(sectioned_book())
    assert len(store.sections("alg")) == 4


def test_reingest_replaces_sections(store):
    store.write_book(sectioned_book())
    second = sectioned_book()
    second.sections = [section for section in second.sections if section.id != NOTES]
    second.sections = [
        dataclasses.replace(section, title="Ordered groups") if section.id == ORDERS else section
        for section in second.sections
    ]
    second.section_references = second.section_references[:1]

    store.write_book(second)

    sections = store.sections("alg")
    assert [section.id for section in sections] == [CHAPTER, GROUPS, ORDERS]
    assert sections[2].title == "Ordered groups"
    assert store.section_references_from(THEOREM) == [SectionReference(THEOREM, GROUPS, "Section 1.1", 12)]
    assert store.section_references_from(EXERCISE) == []
    assert store.entity(THEOREM).section_id == ORDERS


def test_section_reference_to_unknown_section_rejected(store):
    graph = sectioned_book()
    graph.section_references.append(SectionReference(THEOREM, "alg:section:9.9", "Section 9.9", 12))

    with pytest.raises(GraphStoreError, match="alg:section:9.9"):
        store.write_book(graph)

    assert store.books() == []


def test_section_with_unknown_parent_rejected(store):
    graph = sectioned_book()
    graph.sections.append(Section("alg:section:2.1", "alg", "2.1", "Rings", 2, 20, "alg:section:2", 4))

    with pytest.raises(GraphStoreError, match="alg:section:2"):
        store.write_book(graph)

    assert store.books() == []
