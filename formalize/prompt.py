"""Build the chat prompt that requests a Lean formalization of one item."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from kg.models import Entity
from retrieval.models import DependencyContext

log = logging.getLogger(__name__)

# Values shown in an item block when the book prints no number or title.
UNNUMBERED = "(unnumbered)"
UNTITLED = "(none)"
TRUNCATION_MARK = "\n[... text truncated by Lemmagraph ...]"


@dataclass(frozen=True)
class Prompt:
    """The system and user messages of one chat request."""

    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        """Return the messages in the shape the chat completions API expects."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user},
        ]

    def render(self) -> str:
        """Return the messages as readable text, with each content exactly as sent."""
        sections = [f"--- {message['role']} ---\n{message['content']}" for message in self.messages()]
        return "\n\n".join(sections) + "\n"


def bundled_prompt_templates() -> Path:
    """Return the folder of prompt templates shipped inside the `formalize` package."""
    return Path(str(resources.files("formalize") / "templates"))


class PromptBuilder:
    """Fill the prompt templates with a target item and its dependencies.

    `template_dir` must contain `system.md`, `formalize.md`, `item.md` and `no_context.md`,
    which are `string.Template` files. Item texts longer than `max_item_chars` are cut
    so that one long proof-heavy item cannot crowd the others out of the model's context.
    """

    def __init__(self, template_dir: Path | None = None, max_item_chars: int = 6000) -> None:
        if max_item_chars < 1:
            raise ValueError(f"max_item_chars must be positive, got {max_item_chars}")
        self.template_dir = template_dir or bundled_prompt_templates()
        self.max_item_chars = max_item_chars
        self._system = self._load("system.md")
        self._user = self._load("formalize.md")
        self._item = self._load("item.md")
        self._no_context = self._load("no_context.md")

    def build(self, context: DependencyContext) -> Prompt:
        """Build the prompt: context items in reading order, then the target item."""
        dependencies = context.in_reading_order()
        if dependencies:
            blocks = [self._render_item(dependency.entity) for dependency in dependencies]
            context_text = "\n\n".join(blocks)
        else:
            context_text = self._no_context.substitute().strip()

        user = self._user.substitute(
            context=context_text,
            target=self._render_item(context.target),
        )
        system = self._system.substitute()
        log.debug(
            "Built prompt for %s with %d context items (%d characters)",
            context.target.id,
            len(dependencies),
            len(system) + len(user),
        )
        return Prompt(system=system.strip() + "\n", user=user.strip() + "\n")

    def _render_item(self, entity: Entity) -> str:
        text = entity.text.strip()
        if len(text) > self.max_item_chars:
            text = text[: self.max_item_chars].rstrip() + TRUNCATION_MARK
        block = self._item.substitute(
            kind=entity.kind.capitalize(),
            number=entity.number or UNNUMBERED,
            title=entity.title or UNTITLED,
            page=entity.page,
            text=text,
        )
        return block.strip()

    def _load(self, name: str) -> Template:
        path = self.template_dir / name
        try:
            return Template(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise FileNotFoundError(
                f"Prompt template {path} could not be read: {error.strerror}. "
                "Pass a template_dir that contains system.md, formalize.md, item.md and no_context.md."
            ) from error
