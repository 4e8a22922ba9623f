"""Build the chat prompts that request, repair and review a Lean formalization of one item."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from kg.models import Entity, LeanTarget
from retrieval.models import ClosureContext, Dependency, DependencyContext

log = logging.getLogger(__name__)

# Values shown in an item block when the book prints no number or title.
UNNUMBERED = "(unnumbered)"
UNTITLED = "(none)"
TRUNCATION_MARK = "\n[... text truncated by Lemmagraph ...]"
CHARS_PER_TOKEN = 4
DEFAULT_CONTEXT_WINDOW = 32768
# Tokens kept free for the answer: a Lean file with a few local definitions, the
# informal statement and the assumptions.
# NOTE: 4096 is an estimate of a long answer, not a measured maximum.
DEFAULT_ANSWER_RESERVE = 4096
TEMPLATE_NAMES = (
    "system.md",
    "formalize.md",
    "item.md",
    "item_lean.md",
    "no_context.md",
    "repair.md",
    "review_system.md",
    "review.md",
)


def estimate_tokens(text: str) -> int:
    """Estimate the token count of a text as its length in characters divided by 4.

    NOTE: this is a rough estimate with no tokenizer. It undercounts text dense in
    Unicode symbols, such as Lean code, so the answer reserve absorbs the error.
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Prompt:
    """The system and user messages of one chat request, with the context items they contain.

    `context_ids` are the context items in prompt order. `dropped_ids` are the recovered
    items left out to fit the model's context window, least needed first.
    """

    system: str
    user: str
    context_ids: tuple[str, ...] = ()
    dropped_ids: tuple[str, ...] = ()

    def messages(self) -> list[dict[str, str]]:
        """Return the messages in the shape the chat completions API expects."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user},
        ]

    @property
    def estimated_tokens(self) -> int:
        return estimate_tokens(self.system) + estimate_tokens(self.user)

    def render(self) -> str:
        """Return the messages as readable text, with each content exactly as sent."""
        return render_messages(self.messages())


def render_messages(messages: Sequence[Mapping[str, str]]) -> str:
    """Return chat messages as readable text: a `--- role ---` line, then the content as sent."""
    sections = [f"--- {message['role']} ---\n{message['content']}" for message in messages]
    return "\n\n".join(sections) + "\n"


def bundled_prompt_templates() -> Path:
    """Return the folder of prompt templates shipped inside the `formalize` package."""
    return Path(str(resources.files("formalize") / "templates"))


@dataclass
class _Templates:
    system: Template
    user: Template
    item: Template
    item_lean: Template
    no_context: Template
    repair: Template
    review_system: Template
    review: Template


class PromptBuilder:
    """Fill the prompt templates with a target item, its dependencies and known formalizations.

    `template_dir` must contain the `string.Template` files in TEMPLATE_NAMES. Item
    texts longer than `max_item_chars` are cut so that one long proof-heavy item
    cannot crowd the others out. The whole prompt is kept within `context_window`
    tokens minus `answer_reserve` by dropping the least-needed dependencies. The
    reserve defaults to 4096 tokens, or a quarter of a smaller window.
    """

    def __init__(
        self,
        template_dir: Path | None = None,
        max_item_chars: int = 6000,
        context_window: int = DEFAULT_CONTEXT_WINDOW,
        answer_reserve: int | None = None,
    ) -> None:
        if max_item_chars < 1:
            raise ValueError(f"max_item_chars must be positive, got {max_item_chars}")
        if answer_reserve is None:
            answer_reserve = min(DEFAULT_ANSWER_RESERVE, context_window // 4)
        if context_window <= answer_reserve:
            raise ValueError(
                f"context_window ({context_window} tokens) must exceed the answer reserve "
                f"({answer_reserve} tokens); raise --context-window"
            )
        self.template_dir = template_dir or bundled_prompt_templates()
        self.max_item_chars = max_item_chars
        self.context_window = context_window
        self.answer_reserve = answer_reserve
        self._templates = _Templates(*(self._load(name) for name in TEMPLATE_NAMES))

    @property
    def prompt_budget(self) -> int:
        """The maximum number of prompt tokens: the context window minus the answer reserve."""
        return self.context_window - self.answer_reserve

    def build(
        self,
        context: DependencyContext,
        formalized: Mapping[str, LeanTarget] | None = None,
    ) -> Prompt:
        """Build the prompt: context items in dependency order, then the target item.

        `formalized` maps context item ids to a stored target whose Lean code is shown
        with the item. When the prompt exceeds the budget, dependencies are dropped
        lowest score first (the ranking puts the most needed first) until it fits.
        Items that a closure already cut for its own budget count as dropped too.
        """
        formalized = formalized or {}
        included = context.in_dependency_order()
        dropped: list[Dependency] = list(context.dropped) if isinstance(context, ClosureContext) else []

        prompt = self._compose(context.target, included, formalized)
        least_needed_first = _least_needed_first(context)
        while prompt.estimated_tokens > self.prompt_budget and least_needed_first:
            victim = least_needed_first.pop(0)
            included = [dependency for dependency in included if dependency.entity.id != victim.entity.id]
            dropped.append(victim)
            prompt = self._compose(context.target, included, formalized)

        if prompt.estimated_tokens > self.prompt_budget:
            log.warning(
                "The prompt for %s needs about %d tokens even without context items, more than "
                "the budget of %d; raise --context-window",
                context.target.id,
                prompt.estimated_tokens,
                self.prompt_budget,
            )
        if dropped:
            log.info(
                "Dropped %d context items of %s to fit %d tokens: %s",
                len(dropped),
                context.target.id,
                self.prompt_budget,
                ", ".join(dependency.entity.id for dependency in dropped[:10]),
            )
        return Prompt(
            system=prompt.system,
            user=prompt.user,
            context_ids=prompt.context_ids,
            dropped_ids=tuple(dependency.entity.id for dependency in dropped),
        )

    def repair_messages(self, prompt: Prompt, answer_text: str, errors: str) -> list[dict[str, str]]:
        """Return the conversation that requests a fixed answer: the prompt, the last answer, then the errors."""
        repair = self._templates.repair.substitute(errors=errors.strip()).strip() + "\n"
        return [
            *prompt.messages(),
            {"role": "assistant", "content": answer_text},
            {"role": "user", "content": repair},
        ]

    def review_messages(self, target: Entity, informal_statement: str, lean_code: str) -> list[dict[str, str]]:
        """Return the messages of the semantic review of a Lean target against its book item."""
        user = self._templates.review.substitute(
            kind=target.kind.capitalize(),
            number=target.number or UNNUMBERED,
            text=self._item_text(target),
            informal=informal_statement.strip() or "(none given)",
            lean=lean_code.strip(),
        )
        system = self._templates.review_system.substitute()
        return [
            {"role": "system", "content": system.strip() + "\n"},
            {"role": "user", "content": user.strip() + "\n"},
        ]

    def _compose(
        self,
        target: Entity,
        dependencies: list[Dependency],
        formalized: Mapping[str, LeanTarget],
    ) -> Prompt:
        if dependencies:
            blocks = [
                self._render_item(dependency.entity, formalized.get(dependency.entity.id))
                for dependency in dependencies
            ]
            context_text = "\n\n".join(blocks)
        else:
            context_text = self._templates.no_context.substitute().strip()

        user = self._templates.user.substitute(context=context_text, target=self._render_item(target, None))
        system = self._templates.system.substitute()
        return Prompt(
            system=system.strip() + "\n",
            user=user.strip() + "\n",
            context_ids=tuple(dependency.entity.id for dependency in dependencies),
        )

    def _render_item(self, entity: Entity, formalization: LeanTarget | None) -> str:
        lean = ""
        if formalization is not None and formalization.lean_code.strip():
            lean = "\n" + self._templates.item_lean.substitute(
                status=formalization.status,
                code=formalization.lean_code.strip(),
            ).strip()
        block = self._templates.item.substitute(
            kind=entity.kind.capitalize(),
            number=entity.number or UNNUMBERED,
            title=entity.title or UNTITLED,
            page=entity.page,
            text=self._item_text(entity),
            lean=lean,
        )
        return block.strip()

    def _item_text(self, entity: Entity) -> str:
        text = entity.text.strip()
        if len(text) > self.max_item_chars:
            text = text[: self.max_item_chars].rstrip() + TRUNCATION_MARK
        return text

    def _load(self, name: str) -> Template:
        path = self.template_dir / name
        try:
            return Template(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise FileNotFoundError(
                f"Prompt template {path} could not be read: {error.strerror}. "
                f"Pass a template_dir that contains {', '.join(TEMPLATE_NAMES)}."
            ) from error


def _least_needed_first(context: DependencyContext) -> list[Dependency]:
    """Order the dependencies for dropping, least needed first.

    An item's need is its score, raised to the need of any item that requires it
    (closure requirements), so an item is not dropped before the items that use it.
    Among equal needs the item later in dependency order goes first. This is the
    same rule `retrieval.closure` uses for its own budget. A plain ranked context has
    no requirements, so its lowest scores go first.
    """
    order = context.in_dependency_order()
    need = {dependency.entity.id: dependency.score for dependency in order}
    requirements = context.requirements if isinstance(context, ClosureContext) else []
    edges = [(edge.source, edge.target) for edge in requirements if edge.source in need and edge.target in need]
    # Each pass lifts needs along one more edge, so len(order) passes reach a fixed point.
    for _ in range(len(order)):
        changed = False
        for user, used in edges:
            if need[user] > need[used]:
                need[used] = need[user]
                changed = True
        if not changed:
            break
    position = {dependency.entity.id: index for index, dependency in enumerate(order)}
    return sorted(order, key=lambda dependency: (need[dependency.entity.id], -position[dependency.entity.id]))
