"""A simulated model behind the fake server: seeded latency, HTTP 500s and review verdicts per item.

Every decision is drawn from a random generator seeded with the seed, the item and
the request kind, never from the order in which threads arrive, so a batch that
runs jobs concurrently still sees the same answers on every run.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from kg.models import Book, BookGraph, Entity, Reference
from retrieval.models import CITATION, Dependency, DependencyContext
from tests.formalize.fake_openai import FakeOpenAI, RecordedRequest, ScriptedResponse, chat_completion, error_body

FORMALIZE = "formalize"
REVIEW = "review"
REPAIR = "repair"

_TARGET_LABEL = re.compile(r"# Target item.*?^## (\S+) (\S+)", re.DOTALL | re.MULTILINE)
_REVIEW_LABEL = re.compile(r"# Original item from the book\s*^## (\S+) (\S+)", re.MULTILINE)
# How many copies of the responder a server gets: more than any test or benchmark sends.
RESPONDER_COPIES = 20_000


def lean_code(label: str) -> str:
    """Return a structurally valid Lean file for an item, with a namespace named after it."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    return (
        "import Mathlib\n\n"
        f"namespace Sim.{name}\n\n"
        "theorem claim (s : Set ℝ) (hs : Convex ℝ s) : Convex ℝ (s ∩ s) := by\n"
        "  sorry\n\n"
        f"end Sim.{name}\n"
    )


def request_kind(request: RecordedRequest) -> str:
    messages = request.body.get("messages", [])
    if len(messages) > 2:
        return REPAIR
    format_name = str((request.body.get("response_format") or {}).get("json_schema", {}).get("name", ""))
    if format_name == "semantic_review" or "# Original item from the book" in messages[-1]["content"]:
        return REVIEW
    return FORMALIZE


def item_label(request: RecordedRequest) -> str:
    """Return the printed label ("Lemma 1.2") of the item a request is about."""
    content = request.body["messages"][-1]["content"] if request.body.get("messages") else ""
    match = _REVIEW_LABEL.search(content) or _TARGET_LABEL.search(content)
    if match is None:
        content = request.body["messages"][1]["content"]
        match = _TARGET_LABEL.search(content)
    return f"{match.group(1)} {match.group(2)}" if match else "unknown"


@dataclass
class SimulatedModel:
    """Answers chat requests as one model would, by rule.

    `pass_rate` is the share of items whose review verdict is faithful, drawn once per
    item, or set by `difficulty`. `failure_rate` is the share of requests answered with HTTP 500, drawn per
    item, kind and repeat; the first request of each (item label, kind) pair in
    `first_fails` gets HTTP 500 too. Items in `unfaithful` are never faithful. The first
    `rate_limited_requests` requests get HTTP 429 with `Retry-After: retry_after`.
    """

    model: str
    latency_seconds: float = 0.0
    pass_rate: float = 1.0
    failure_rate: float = 0.0
    seed: int = 0
    unfaithful: set[str] = field(default_factory=set)
    first_fails: set[tuple[str, str]] = field(default_factory=set)
    # Item label -> difficulty in [0, 1); the item is faithful when its difficulty is
    # below `pass_rate`. Items not listed draw a difficulty from the seed.
    difficulty: dict[str, float] = field(default_factory=dict)
    rate_limited_requests: int = 0
    retry_after: str = "0.01"
    prompt_tokens: int = 1000
    completion_tokens: int = 200
    counts: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, request: RecordedRequest) -> ScriptedResponse:
        kind = request_kind(request)
        label = item_label(request)
        with self._lock:
            self.counts["requests"] += 1
            number = self.counts["requests"]
            repeat = self.counts[(label, kind)]
            self.counts[(label, kind)] += 1
        if number <= self.rate_limited_requests:
            return ScriptedResponse(
                429, error_body("rate limit reached", "rate_limit_error"), {"Retry-After": self.retry_after}
            )
        drawn_fault = random.Random(f"{self.seed}:{label}:{kind}:{repeat}:fault").random() < self.failure_rate
        if drawn_fault or (repeat == 0 and (label, kind) in self.first_fails):
            return ScriptedResponse(500, error_body("simulated server error", "server_error"), {}, self.latency_seconds)
        if kind == REVIEW:
            content = json.dumps(self._review(label))
        else:
            content = json.dumps(
                {
                    "informal_statement": f"The claim of {label}.",
                    "lean_code": lean_code(label),
                    "local_definitions": [],
                    "assumptions": [],
                }
            )
        body = chat_completion(content, self.model, self.prompt_tokens, self.completion_tokens)
        return ScriptedResponse(200, body, {}, self.latency_seconds)

    def faithful(self, label: str) -> bool:
        if label in self.unfaithful:
            return False
        if label in self.difficulty:
            return self.difficulty[label] < self.pass_rate
        return random.Random(f"{self.seed}:{label}:verdict").random() < self.pass_rate

    def _review(self, label: str) -> dict:
        verdict = "faithful" if self.faithful(label) else "weaker"
        return {"back_translation": f"The claim of {label}.", "verdict": verdict, "reasons": ["simulated"]}


def serve(model: SimulatedModel) -> FakeOpenAI:
    """Start a fake server that answers every request with the simulated model."""
    server = FakeOpenAI().start()
    for _ in range(RESPONDER_COPIES):
        server.push_responder(model)
    return server


def synthetic_chapter(
    book_id: str = "synthetic",
    definitions: int = 12,
    lemmas: int = 28,
    exercises: int = 20,
    seed: int = 0,
) -> tuple[BookGraph, dict[str, DependencyContext]]:
    """Build chapter 1 of a book whose lemmas cite definitions and earlier lemmas, and whose
    exercises cite lemmas, with each item's dependency context keyed by item id."""
    rng = random.Random(seed)
    book = Book(id=book_id, title="Synthetic", source_path=f"/books/{book_id}.pdf", page_count=10, sha256="0" * 64)
    entities: list[Entity] = []
    references: list[Reference] = []
    contexts: dict[str, DependencyContext] = {}

    def add(kind: str, cited: list[Entity]) -> Entity:
        number = f"1.{len(entities) + 1}"
        entity = Entity(
            id=f"{book_id}:{kind}:{number}",
            book_id=book_id,
            kind=kind,
            number=number,
            title=None,
            text=f"{kind.capitalize()} {number} of the synthetic chapter"
            + "".join(f", using {item.label}" for item in cited)
            + ".",
            page=1 + len(entities) // 6,
            order=len(entities),
            section="1.1 Synthetic",
        )
        entities.append(entity)
        references.extend(Reference(entity.id, item.id, item.label, entity.page) for item in cited)
        contexts[entity.id] = DependencyContext(
            entity, [Dependency(item, 0.95, ["cited"], {CITATION: 0.95}) for item in cited]
        )
        return entity

    made_definitions = [add("definition", []) for _ in range(definitions)]
    made_lemmas: list[Entity] = []
    for index in range(lemmas):
        cited = rng.sample(made_definitions, k=min(2, len(made_definitions)))
        if made_lemmas and index % 3 == 2:
            cited.append(made_lemmas[-1])
        made_lemmas.append(add("lemma", cited))
    for _ in range(exercises):
        add("exercise", rng.sample(made_lemmas, k=min(2, len(made_lemmas))))
    return BookGraph(book=book, entities=entities, references=references), contexts
