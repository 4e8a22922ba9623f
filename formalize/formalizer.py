"""Turn one item and its dependency context into a stored Lean target."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from formalize.answer import ParsedAnswer, parse_answer
from formalize.lean_project import COMPILED, NOT_CHECKED, LeanCheck, LeanProject
from formalize.llm import LlmAnswer, LlmClient
from formalize.prompt import PromptBuilder
from kg.errors import LlmError
from kg.models import Entity, LeanTarget
from kg.store import GraphStore
from retrieval.models import DependencyContext

log = logging.getLogger(__name__)

CHECKED = "checked"
DRAFT = "draft"
FAILED = "failed"


class Formalizer:
    """Run one formalization attempt: prompt, model, parse, write, check and store.

    Every attempt whose answer arrives is stored, including one that cannot be parsed.
    A failed request to the model raises LlmError and stores nothing.
    """

    def __init__(
        self,
        store: GraphStore,
        client: LlmClient,
        lean: LeanProject,
        builder: PromptBuilder,
    ) -> None:
        self.store = store
        self.client = client
        self.lean = lean
        self.builder = builder

    def run(self, context: DependencyContext) -> LeanTarget:
        """Formalize the context's target item and return the stored LeanTarget.

        The status is "checked" when Lean compiled the file and it passed the structural
        check, "draft" when no Lean check ran and the structure is fine, and "failed"
        otherwise, with the reason in `check_output`. Raises LlmError, after storing the
        failed attempt, when the answer cannot be parsed.
        """
        entity = context.target
        prompt = self.builder.build(context)
        context_ids = [dependency.entity.id for dependency in context.in_reading_order()]
        log.info("Formalizing %s with %d context items", entity.id, len(context_ids))

        answer = self.client.complete(prompt)
        target = self._new_target(entity, answer, context_ids)
        try:
            parsed = parse_answer(answer.text)
        except LlmError as error:
            target.status = FAILED
            target.check_output = f"{error}\n\nRaw answer:\n{answer.text}"
            self.store.write_target(target)
            log.warning("Stored failed target %s: the answer could not be parsed", target.id)
            raise

        path = self.lean.write_target(entity.book_id, entity, parsed.lean_code)
        check = self.lean.check(path)

        target.informal_statement = parsed.informal_statement
        target.lean_code = parsed.lean_code
        target.lean_path = path.relative_to(self.lean.root).as_posix()
        target.status = target_status(check)
        target.check_output = _report(parsed, check)
        self.store.write_target(target)
        log.info("Stored target %s with status %s", target.id, target.status)
        return target

    def _new_target(self, entity: Entity, answer: LlmAnswer, context_ids: list[str]) -> LeanTarget:
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
            context_ids=list(context_ids),
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )


def target_status(check: LeanCheck) -> str:
    """Map a Lean check to a target status: "checked", "draft" or "failed".

    A structural problem fails the target even without a Lean toolchain, because an
    `axiom` or a second theorem would make the target wrong whether or not it compiles.
    """
    if check.problems:
        return FAILED
    if check.status == COMPILED:
        return CHECKED
    if check.status == NOT_CHECKED:
        return DRAFT
    return FAILED


def _report(parsed: ParsedAnswer, check: LeanCheck) -> str:
    definitions = ", ".join(parsed.local_definitions) or "none"
    assumptions = "\n".join(f"- {item}" for item in parsed.assumptions) or "- none"
    return (
        f"Answer format: {parsed.source_format}\n"
        f"Local definitions: {definitions}\n"
        f"Assumptions:\n{assumptions}\n\n"
        f"{check.output}"
    )
