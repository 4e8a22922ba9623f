"""The checks a Lean target answer goes through, in order: structure, compile, semantic review."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from formalize.answer import ParsedAnswer
from formalize.lean_project import COMPILED, NOT_CHECKED, LeanProject
from formalize.lean_structure import structural_problems
from formalize.llm import LlmAnswer, LlmClient, ResponseSchema
from formalize.prompt import PromptBuilder
from formalize.review import FAITHFUL, REVIEW_SCHEMA, parse_review
from formalize.targets import FAILED as TARGET_FAILED
from formalize.targets import REQUEST_FAILED_REASON
from kg.errors import LlmError
from kg.models import FAILED, PASSED, SKIPPED, CheckRecord, Entity, LeanTarget

log = logging.getLogger(__name__)

PARSE = "parse"
STRUCTURE = "structure"
COMPILE = "compile"
SEMANTIC_REVIEW = "semantic review"

_REVIEW_FORMAT = ResponseSchema(name="semantic_review", schema=REVIEW_SCHEMA)


@dataclass
class CheckRun:
    """The checks of one answer and their results.

    `repairable` is false when a check failed for a reason the formalizing model cannot
    fix, such as an unreadable review answer. `request_failed` is true when a check could
    not run because its request to the model failed, so the answer was never judged.
    `answers` are the model calls the checks made.
    """

    checks: list[CheckRecord]
    lean_path: str = ""
    verdict: str = ""
    repairable: bool = True
    request_failed: bool = False
    answers: tuple[LlmAnswer, ...] = ()

    @property
    def failed(self) -> list[CheckRecord]:
        return [check for check in self.checks if check.status == FAILED]


class TargetChecker:
    """Run the checks of one parsed answer and record each with its output.

    A check runs only when the ones before it allow: compiling needs a sound
    structure, and the review needs a statement that did not fail to compile.
    """

    def __init__(
        self,
        lean: LeanProject,
        client: LlmClient | None,
        builder: PromptBuilder,
        semantic_review: bool = True,
    ) -> None:
        self.lean = lean
        self.client = client
        self.builder = builder
        self.semantic_review = semantic_review and client is not None

    def run(self, entity: Entity, parsed: ParsedAnswer, round_number: int) -> CheckRun:
        """Check the answer, writing its Lean file into the project."""
        problems = structural_problems(parsed.lean_code, parsed.local_definitions)
        if problems:
            structure = CheckRecord(
                STRUCTURE, FAILED, "Structure check failed:\n" + "\n".join(f"- {p}" for p in problems), round_number
            )
        else:
            structure = CheckRecord(STRUCTURE, PASSED, "Structure check passed.", round_number)

        path = self.lean.write_target(entity.book_id, entity, parsed.lean_code)
        run = CheckRun(checks=[structure], lean_path=path.relative_to(self.lean.root).as_posix())

        if problems:
            compile_check = CheckRecord(COMPILE, SKIPPED, "Not compiled: the structure check failed.", round_number)
        else:
            status, output = self.lean.compile(path)
            compile_status = {COMPILED: PASSED, NOT_CHECKED: SKIPPED}.get(status, FAILED)
            compile_check = CheckRecord(COMPILE, compile_status, output, round_number)
        run.checks.append(compile_check)

        if not self.semantic_review:
            run.checks.append(CheckRecord(SEMANTIC_REVIEW, SKIPPED, "Semantic review is turned off.", round_number))
        elif run.failed:
            run.checks.append(
                CheckRecord(SEMANTIC_REVIEW, SKIPPED, "Not reviewed: an earlier check failed.", round_number)
            )
        else:
            run.checks.append(self._review(entity, parsed, round_number, run))
        return run

    def _review(self, entity: Entity, parsed: ParsedAnswer, round_number: int, run: CheckRun) -> CheckRecord:
        assert self.client is not None
        messages = self.builder.review_messages(entity, parsed.informal_statement, parsed.lean_code)
        try:
            answer = self.client.complete(messages, _REVIEW_FORMAT)
        except LlmError as error:
            run.repairable = False
            run.request_failed = True
            return CheckRecord(SEMANTIC_REVIEW, FAILED, f"The review request failed: {error}", round_number)
        run.answers = (*run.answers, answer)

        try:
            review = parse_review(answer.text)
        except LlmError as error:
            run.repairable = False
            log.warning("The semantic review of %s could not be parsed: %s", entity.id, error)
            return CheckRecord(SEMANTIC_REVIEW, FAILED, f"{error}\n\nRaw review answer:\n{answer.text}", round_number)

        run.verdict = review.verdict
        status = PASSED if review.verdict == FAITHFUL else FAILED
        return CheckRecord(SEMANTIC_REVIEW, status, review.report(), round_number)


def is_rejection(target: LeanTarget) -> bool:
    """Return whether a stored attempt failed on a judged answer: a check of its last round
    failed, or the semantic review found the Lean code not faithful.

    An attempt that failed because a request to the model failed is no rejection, and
    neither is one whose review answer could not be read, because it has no verdict.
    """
    if target.status != TARGET_FAILED or target.status_reason.startswith(REQUEST_FAILED_REASON):
        return False
    if target.verdict and target.verdict != FAITHFUL:
        return True
    last_round = max((check.round for check in target.checks), default=0)
    return any(
        check.round == last_round and check.status == FAILED and check.name != SEMANTIC_REVIEW
        for check in target.checks
    )


def failure_report(checks: list[CheckRecord]) -> str:
    """Return the outputs of failed checks as the error list of a repair request."""
    return "\n\n".join(f"{check.name} check failed:\n{check.output.strip()}" for check in checks)
