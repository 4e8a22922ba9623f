from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from formalize.blueprint import export_blueprint
from formalize.export import export_cam_jsonl, export_json
from kg.errors import NotFoundError
from kg.models import BookGraph, CheckRecord, Entity, LeanTarget, Reference
from kg.store import GraphStore
from tests.formalize.conftest import sample_book

try:
    from kg.ladybug_store import LadybugStore
except ImportError as error:  # the embedded store is written in parallel with this package
    LadybugStore = None
    LADYBUG_IMPORT_ERROR = str(error)
else:
    LADYBUG_IMPORT_ERROR = ""

pytestmark = pytest.mark.skipif(
    LadybugStore is None, reason=f"kg.ladybug_store is not importable: {LADYBUG_IMPORT_ERROR}"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(sample_book())
    try:
        yield graph_store
    finally:
        graph_store.close()


def test_export_json_has_exact_shape(store: GraphStore):
    exported = export_json(store, "convex-sets")

    assert list(exported) == ["book", "entities", "edges", "sections"]
    assert exported["sections"] == []
    assert exported["book"] == {
        "id": "convex-sets",
        "title": "Convex Sets",
        "source_path": "/books/convex-sets.pdf",
        "page_count": 40,
        "sha256": "0" * 64,
        "ingested_at": "2024-05-01T10:00:00+00:00",
    }
    assert exported["entities"][1] == {
        "id": "convex-sets:lemma:1.2",
        "kind": "lemma",
        "number": "1.2",
        "title": None,
        "page": 4,
        "text": "The intersection of two convex sets is convex (Definition 1.1).",
    }
    assert [entity["id"] for entity in exported["entities"]] == [
        "convex-sets:definition:1.1",
        "convex-sets:lemma:1.2",
        "convex-sets:theorem:1.3",
    ]


def test_export_json_lists_reference_edges(store: GraphStore):
    edges = export_json(store, "convex-sets")["edges"]

    assert {"source": "convex-sets:lemma:1.2", "target": "convex-sets:definition:1.1", "type": "REFERENCES"} in edges
    assert {"source": "convex-sets:theorem:1.3", "target": "convex-sets:lemma:1.2", "type": "REFERENCES"} in edges
    assert all(set(edge) == {"source", "target", "type"} for edge in edges)


def test_export_json_is_serializable(store: GraphStore):
    text = json.dumps(export_json(store, "convex-sets"))

    assert json.loads(text)["book"]["id"] == "convex-sets"


def test_export_json_unknown_book_raises(store: GraphStore):
    with pytest.raises(NotFoundError, match="no-such-book"):
        export_json(store, "no-such-book")


# --- benchmark records and blueprint -----------------------------------------------

EXERCISE_ID = "convex-sets:exercise:1.4"
DEFINITION_ID = "convex-sets:definition:1.1"
LEMMA_ID = "convex-sets:lemma:1.2"
THEOREM_ID = "convex-sets:theorem:1.3"


def book_with_exercises() -> BookGraph:
    """The sample book plus two exercises: 1.4 cites Theorem 1.3 (and Lemma 1.2 in its hint), 1.5 cites nothing."""
    graph = sample_book()
    graph.entities.append(
        Entity(
            id=EXERCISE_ID, book_id="convex-sets", kind="exercise", number="1.4", title="Half-spaces",
            text="Show that an intersection of half-spaces is convex, using Theorem 1.3. Costs $5 & 10% of_effort.",
            page=6, order=3, proof="Hint: apply Lemma 1.2 twice.",
        )
    )
    graph.entities.append(
        Entity(
            id="convex-sets:exercise:1.5", book_id="convex-sets", kind="exercise", number="1.5", title=None,
            text="Draw a convex set.", page=6, order=4,
        )
    )
    graph.references += [
        Reference(source_id=EXERCISE_ID, target_id=THEOREM_ID, surface="Theorem 1.3", page=6),
        Reference(source_id=EXERCISE_ID, target_id=LEMMA_ID, surface="Lemma 1.2", page=6, in_proof=True),
    ]
    return graph


def target(target_id: str, entity_id: str, status: str, created_at: str, lean_code: str, **fields) -> LeanTarget:
    return LeanTarget(
        id=target_id, entity_id=entity_id, book_id="convex-sets", informal_statement=f"Statement {target_id}.",
        lean_code=lean_code, status=status, check_output="", model="fake-model", created_at=created_at, **fields,
    )


def lean_file(namespace: str, theorem: str) -> str:
    return f"import Mathlib\n\nnamespace {namespace}\n\ntheorem {theorem} : True := sorry\n\nend {namespace}\n"


@pytest.fixture
def formalized_store(tmp_path: Path) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(book_with_exercises())
    checks = [
        CheckRecord("parse", "passed", "Answer format: json"),
        CheckRecord("structure", "passed", "Structure check passed."),
        CheckRecord("compile", "skipped", "Not compiled: no Lean toolchain (`lake`) was found on PATH."),
        CheckRecord("semantic review", "passed", "Verdict: faithful"),
    ]
    graph_store.write_target(target("d1", DEFINITION_ID, "checked", "2024-05-01T10:00", lean_file("Conv.D", "def_ok")))
    graph_store.write_target(target("l1", LEMMA_ID, "draft", "2024-05-01T10:00", lean_file("Conv.L", "lemma_draft")))
    graph_store.write_target(target("t1", THEOREM_ID, "failed", "2024-05-01T10:00", lean_file("Conv.T", "bad")))
    graph_store.write_target(
        target("e1", EXERCISE_ID, "draft", "2024-05-01T10:00", lean_file("Conv.E", "old_draft"),
               context_ids=[LEMMA_ID], checks=checks)
    )
    graph_store.write_target(
        target("e2", EXERCISE_ID, "draft", "2024-05-02T10:00", lean_file("Conv.E", "half_spaces"),
               context_ids=[DEFINITION_ID, THEOREM_ID], dropped_context_ids=[LEMMA_ID], checks=checks,
               verdict="faithful", assumptions=["Half-spaces are closed."], cost_usd=0.25, price_known=True)
    )
    graph_store.write_target(
        target("e3", EXERCISE_ID, "failed", "2024-05-03T10:00", "", status_reason="the answer could not be parsed")
    )
    try:
        yield graph_store
    finally:
        graph_store.close()


def test_cam_jsonl_one_record_per_formalized_exercise(formalized_store: GraphStore):
    lines = export_cam_jsonl(formalized_store, "convex-sets").splitlines()

    records = [json.loads(line) for line in lines]
    assert [record["id"] for record in records] == [EXERCISE_ID], "exercise 1.5 has no target, theorems are not exercises"


def test_cam_jsonl_record_contents(formalized_store: GraphStore):
    (record,) = [json.loads(line) for line in export_cam_jsonl(formalized_store, "convex-sets").splitlines()]

    assert record["target_id"] == "e2", "the latest draft wins over a later failed attempt"
    assert record["attempts"] == 3
    assert record["exercise"].startswith("Show that an intersection of half-spaces is convex")
    assert record["context"] == [
        {"id": DEFINITION_ID, "kind": "definition", "number": "1.1",
         "text": sample_book().entities[0].text},
        {"id": THEOREM_ID, "kind": "theorem", "number": "1.3",
         "text": "The intersection of any family of convex sets is convex. Compare Lemma 1.2."},
    ]
    assert record["dropped_context_ids"] == [LEMMA_ID]
    assert record["informal_statement"] == "Statement e2."
    assert record["lean_code"] == lean_file("Conv.E", "half_spaces")
    assert record["lean_theorem"] == "Conv.E.half_spaces"
    assert record["verdict"] == "faithful"
    assert record["assumptions"] == ["Half-spaces are closed."]
    assert [check["name"] for check in record["checks"]] == ["parse", "structure", "compile", "semantic review"]
    assert record["checks"][2]["status"] == "skipped"
    assert record["cost_usd"] == 0.25


def test_cam_jsonl_prefers_checked(formalized_store: GraphStore):
    formalized_store.write_target(
        target("e0", EXERCISE_ID, "checked", "2024-04-30T10:00", lean_file("Conv.E", "compiled"))
    )

    (record,) = [json.loads(line) for line in export_cam_jsonl(formalized_store, "convex-sets").splitlines()]

    assert record["target_id"] == "e0"
    assert record["cost_usd"] is None, "an unknown price is exported as null, not as zero"


def test_cam_jsonl_falls_back_to_latest_failed(store: GraphStore):
    graph = book_with_exercises()
    store.write_book(graph)
    store.write_target(target("f1", EXERCISE_ID, "failed", "2024-05-01T10:00", ""))
    store.write_target(target("f2", EXERCISE_ID, "failed", "2024-05-02T10:00", "", raw_answer="no idea"))

    (record,) = [json.loads(line) for line in export_cam_jsonl(store, "convex-sets").splitlines()]

    assert record["target_id"] == "f2"
    assert record["status"] == "failed"
    assert record["lean_theorem"] is None


def test_cam_jsonl_unknown_book_raises(store: GraphStore):
    with pytest.raises(NotFoundError, match="no-such-book"):
        export_cam_jsonl(store, "no-such-book")


def blueprint_block(latex: str, label: str) -> str:
    """Return the environment that carries `\\label{label}`, with its proof if any."""
    start = latex.rindex("\\begin{", 0, latex.index(f"\\label{{{label}}}"))
    following = latex.find("\n% ", start)
    return latex[start : following if following >= 0 else len(latex)]


def test_blueprint_labels_every_item(formalized_store: GraphStore):
    latex = export_blueprint(formalized_store, "convex-sets")

    for entity in book_with_exercises().entities:
        assert f"\\label{{{entity.id}}}" in latex
    assert latex.count("\\begin{") == latex.count("\\end{")
    assert "\\begin{definition}[{Convex set}]" in latex
    assert "\\begin{exercise}[{Half-spaces}]" in latex


def test_blueprint_uses_from_references(formalized_store: GraphStore):
    latex = export_blueprint(formalized_store, "convex-sets")

    assert "\\uses{convex-sets:definition:1.1}" in blueprint_block(latex, LEMMA_ID)
    assert "\\uses{convex-sets:lemma:1.2}" in blueprint_block(latex, THEOREM_ID)
    exercise = blueprint_block(latex, EXERCISE_ID)
    statement, proof = exercise.split("\\begin{proof}")
    assert "\\uses{convex-sets:theorem:1.3}" in statement
    assert "\\uses{convex-sets:lemma:1.2}" in proof, "a citation in the hint belongs to the proof"
    assert "\\uses" not in blueprint_block(latex, DEFINITION_ID)


def test_blueprint_lean_and_leanok(formalized_store: GraphStore):
    latex = export_blueprint(formalized_store, "convex-sets")

    definition = blueprint_block(latex, DEFINITION_ID)
    assert "\\lean{Conv.D.def_ok}" in definition
    assert "\\leanok" in definition
    lemma = blueprint_block(latex, LEMMA_ID)
    assert "\\lean{Conv.L.lemma_draft}" in lemma
    assert "\\leanok" not in lemma, "a draft was never compiled"
    theorem = blueprint_block(latex, THEOREM_ID)
    assert "\\lean{" not in theorem, "a failed target is not linked"
    exercise = blueprint_block(latex, EXERCISE_ID)
    assert "\\lean{Conv.E.half_spaces}" in exercise
    assert "\\lean{" not in blueprint_block(latex, "convex-sets:exercise:1.5")


def test_blueprint_escapes_latex(formalized_store: GraphStore):
    latex = export_blueprint(formalized_store, "convex-sets")

    assert "Costs \\$5 \\& 10\\% of\\_effort." in latex


def test_blueprint_documents_preamble(formalized_store: GraphStore):
    latex = export_blueprint(formalized_store, "convex-sets")

    header = latex[: latex.index("\\begin{")]
    assert all(line.startswith("%") for line in header.splitlines() if line.strip())
    assert "\\newtheorem{exercise}" in header
    assert "leanblueprint" in header
