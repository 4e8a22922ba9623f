"""Turn one item and its dependency context into a checked, stored Lean target."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from formalize.answer import ANSWER_SCHEMA, AnswerParseError, ParsedAnswer, parse_answer
from formalize.checks import COMPILE, PARSE, CheckRun, TargetChecker, failure_report
from formalize.lean_project import LeanProject
from formalize.llm import LlmAnswer, LlmClient, ResponseSchema
from formalize.pricing import UNKNOWN_PRICE, ModelPrice, price_of
from formalize.prompt import Prompt, PromptBuilder
from formalize.targets import CHECKED, DRAFT, FAILED, REQUEST_FAILED_REASON, usable_formalization
from kg.errors import LlmError
from kg.models import FAILED as CHECK_FAILED
from kg.models import PASSED, SKIPPED, CheckRecord, Entity, LeanTarget
from kg.store import GraphStore
from retrieval.models import DependencyContext

log = logging.getLogger(__name__)

__all__ = ["CHECKED", "DRAFT", "FAILED", "Formalizer", "formalization_prompt"]

DEFAULT_REPAIR_ROUNDS = 2
_ANSWER_FORMAT = ResponseSchema(name="lean_target", schema=ANSWER_SCHEMA)


def formalization_prompt(store: GraphStore, builder: PromptBuilder, context: DependencyContext) -> Prompt:
    """Build the prompt for the context's target, showing the stored Lean code of context items.

    A context item shows the code of its latest checked target, else its latest draft.
    """
    formalized: dict[str, LeanTarget] = {}
    for dependency in context.dependencies:
        target = usable_formalization(store.targets(dependency.entity.id))
        if target is not None:
            formalized[dependency.entity.id] = target
    return builder.build(context, formalized)


@dataclass
class _Usage:
    """Tokens and cost summed over the model calls of one attempt."""

    prices: Mapping[str, ModelPrice]
    requested_model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    price_known: bool = True
    cached_calls: int = 0
    unpriced_models: set[str] = field(default_factory=set)
    answers: list[LlmAnswer] = field(default_factory=list)

    def add(self, answer: LlmAnswer) -> None:
        self.answers.append(answer)
        self.prompt_tokens += answer.prompt_tokens
        self.completion_tokens += answer.completion_tokens
        if answer.cached:
            self.cached_calls += 1
            return
        price = price_of(self.prices, self.requested_model, answer.model)
        if price is None:
            self.price_known = False
            self.unpriced_models.add(answer.model or self.requested_model)
            return
        self.cost_usd += price.cost(answer.prompt_tokens, answer.completion_tokens)


class Formalizer:
    """Run one formalization attempt: prompt, model, parse, checks, repair rounds, store.

    Every attempt whose first answer arrives is stored, including one whose answers
    never parse. A failed first request to the model raises LlmError and stores
    nothing. A failed repair request stores the attempt as failed and raises, and a
    failed review request is recorded as a failed semantic review check.

    The answers of an attempt that ends failed are removed from the response cache,
    so running the item again sends new requests instead of replaying the failure.
    An attempt that failed only because its review request failed keeps them: its
    answers were never judged, and a retry then sends the review alone.
    """

    def __init__(
        self,
        store: GraphStore,
        client: LlmClient,
        lean: LeanProject,
        builder: PromptBuilder,
        repair_rounds: int = DEFAULT_REPAIR_ROUNDS,
        prices: Mapping[str, ModelPrice] | None = None,
        semantic_review: bool = True,
    ) -> None:
        if repair_rounds < 0:
            raise ValueError(f"repair_rounds must be 0 or more, got {repair_rounds}")
        self.store = store
        self.client = client
        self.lean = lean
        self.builder = builder
        self.repair_rounds = repair_rounds
        self.prices = dict(prices or {})
        self.checker = TargetChecker(lean, client, builder, semantic_review=semantic_review)

    def prompt_for(self, context: DependencyContext) -> Prompt:
        """Build the prompt that `run` sends for this context, reading the stored targets of its items."""
        return formalization_prompt(self.store, self.builder, context)

    def run(self, context: DependencyContext, prompt: Prompt | None = None) -> LeanTarget:
        """Formalize the context's target item and return the stored LeanTarget.

        The status is "checked" when every check passed and Lean compiled the file,
        "draft" when every check that ran passed but no Lean toolchain compiled it,
        and "failed" otherwise, with the reason in `status_reason`.

        With a `prompt` from `prompt_for`, the store is used only to write the target
        after the model calls.
        """
        entity = context.target
        if prompt is None:
            prompt = self.prompt_for(context)
        log.info(
            "Formalizing %s with %d context items (%d dropped)",
            entity.id,
            len(prompt.context_ids),
            len(prompt.dropped_ids),
        )
        usage = _Usage(self.prices, self.client.model)
        answer = self.client.complete(prompt.messages(), _ANSWER_FORMAT)
        usage.add(answer)
        target = self._new_target(entity, answer, prompt)

        try:
            judged = self._rounds(entity, prompt, answer, target, usage)
        except LlmError as error:
            target.status = FAILED
            target.status_reason = f"{REQUEST_FAILED_REASON}: {error}"
            self._store(target, usage)
            self._evict(usage.answers)
            raise
        self._store(target, usage)
        if target.status == FAILED and judged:
            self._evict(usage.answers)
        return target

    def _evict(self, answers: list[LlmAnswer]) -> None:
        # Clients without a response cache, such as test doubles, need not offer evict.
        evict = getattr(self.client, "evict", None)
        if evict is not None:
            evict(answers)

    def _rounds(
        self,
        entity: Entity,
        prompt: Prompt,
        answer: LlmAnswer,
        target: LeanTarget,
        usage: _Usage,
    ) -> bool:
        """Check the answer, and ask for repairs while a repairable check fails and rounds remain.

        Return whether the last answer was judged, which is false when a check's request failed.
        """
        errors = ""
        for round_number in range(self.repair_rounds + 1):
            if round_number > 0:
                messages = self.builder.repair_messages(prompt, answer.text, errors)
                answer = self.client.complete(messages, _ANSWER_FORMAT)
                usage.add(answer)
                target.repair_rounds = round_number
                log.info("Repair round %d of %s", round_number, entity.id)
            target.raw_answer = answer.text

            try:
                parsed = parse_answer(answer.text)
            except AnswerParseError as error:
                target.checks.append(CheckRecord(PARSE, CHECK_FAILED, str(error), round_number))
                _set_status(target, FAILED, f"the answer could not be parsed ({error.reason})")
                errors = str(error)
                continue

            run = self.checker.run(entity, parsed, round_number)
            for review_answer in run.answers:
                usage.add(review_answer)
            target.checks.append(CheckRecord(PARSE, PASSED, f"Answer format: {parsed.source_format}", round_number))
            target.checks.extend(run.checks)
            _take_answer(target, parsed, run)
            if not run.failed or not run.repairable:
                return not run.request_failed
            errors = failure_report(run.failed)
        return True

    def _new_target(self, entity: Entity, answer: LlmAnswer, prompt: Prompt) -> LeanTarget:
        now = datetime.now(timezone.utc)
        # The timestamp orders attempts, and the random suffix keeps two attempts made
        # in the same microsecond apart.
        attempt = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
        return LeanTarget(
            id=f"{entity.id}:target:{attempt}",
            entity_id=entity.id,
            book_id=entity.book_id,
            informal_statement="",
            lean_code="",
            status=FAILED,
            check_output="",
            model=answer.model,
            created_at=now.isoformat(timespec="microseconds"),
            context_ids=list(prompt.context_ids),
            dropped_context_ids=list(prompt.dropped_ids),
        )

    def _store(self, target: LeanTarget, usage: _Usage) -> None:
        target.prompt_tokens = usage.prompt_tokens
        target.completion_tokens = usage.completion_tokens
        target.cost_usd = round(usage.cost_usd, 6) if usage.price_known else 0.0
        target.price_known = usage.price_known
        target.cached_calls = usage.cached_calls
        if not usage.price_known:
            log.info(
                "Cost of %s not counted: %s for %s; add it to [prices] in lemmagraph.toml",
                target.id,
                UNKNOWN_PRICE,
                ", ".join(sorted(usage.unpriced_models)),
            )
        target.check_output = check_report(target)
        self.store.write_target(target)
        log.info("Stored target %s with status %s", target.id, target.status)


def _take_answer(target: LeanTarget, parsed: ParsedAnswer, run: CheckRun) -> None:
    """Copy a parsed answer and the outcome of its checks into the target."""
    target.informal_statement = parsed.informal_statement
    target.lean_code = parsed.lean_code
    target.local_definitions = list(parsed.local_definitions)
    target.assumptions = list(parsed.assumptions)
    target.lean_path = run.lean_path
    target.verdict = run.verdict

    if run.failed:
        first = run.failed[0]
        _set_status(target, FAILED, f"the {first.name} check failed: {_first_line(first.output)}")
        return
    compile_check = next(check for check in run.checks if check.name == COMPILE)
    if compile_check.status == SKIPPED:
        _set_status(target, DRAFT, _first_line(compile_check.output))
    else:
        _set_status(target, CHECKED, "")


def _set_status(target: LeanTarget, status: str, reason: str) -> None:
    target.status = status
    target.status_reason = reason


def check_report(target: LeanTarget) -> str:
    """Return a readable report of the target's last round: answer summary, then each check."""
    definitions = ", ".join(target.local_definitions) or "none"
    assumptions = "\n".join(f"- {item}" for item in target.assumptions) or "- none"
    last_round = max((check.round for check in target.checks), default=0)
    checks = [
        f"[{check.name}: {check.status}]\n{check.output.strip()}"
        for check in target.checks
        if check.round == last_round
    ]
    lines = [
        f"Status: {target.status}" + (f" ({target.status_reason})" if target.status_reason else ""),
        f"Repair rounds: {target.repair_rounds}",
        f"Local definitions: {definitions}",
        f"Assumptions:\n{assumptions}",
        "",
        *checks,
    ]
    return "\n".join(lines).rstrip() + "\n"


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1].lstrip('- ')}"
    return lines[0]
