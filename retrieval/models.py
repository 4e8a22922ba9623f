"""Results of dependency recovery, passed on to formalization."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.models import Entity

# Names of the signals that propose a dependency; they key `Dependency.signals`.
CITATION = "citation"
TRANSITIVE_CITATION = "transitive_citation"
TERM = "term"
SIMILARITY = "similarity"
SIGNALS: tuple[str, ...] = (CITATION, TRANSITIVE_CITATION, TERM, SIMILARITY)


@dataclass
class Dependency:
    """An item the target relies on, with a score and the reasons it was returned.

    `signals` maps each signal that proposed the item to its strength in [0, 1]
    before fusion. `via` is the id of the directly cited item through which a
    transitive citation reached this one, when that is how it was found.
    """

    entity: Entity
    score: float
    reasons: list[str] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    via: str | None = None

    @property
    def strongest_signal(self) -> str | None:
        """The signal with the highest strength, or None for an item no signal proposed."""
        if not self.signals:
            return None
        return max(self.signals, key=lambda name: (self.signals[name], -SIGNALS.index(name)))


@dataclass
class DependencyContext:
    """The target item and its recovered dependencies, best first."""

    target: Entity
    dependencies: list[Dependency] = field(default_factory=list)

    def in_reading_order(self) -> list[Dependency]:
        """Return the dependencies ordered as they appear in the book."""
        return sorted(self.dependencies, key=lambda dependency: dependency.entity.order)

    def in_dependency_order(self) -> list[Dependency]:
        """Return the dependencies so that each comes after the items it uses.

        A plain ranked context stores no edges between its items, so this is reading
        order, which is right for every citation that points backwards in the book.
        """
        return self.in_reading_order()


@dataclass(frozen=True)
class Requirement:
    """One item of a closure needing another: `source` uses `target` for the given reason."""

    source: str
    target: str
    reason: str  # one of SIGNALS: how the source uses or was linked to the target


@dataclass
class ClosureContext(DependencyContext):
    """A dependency context closed under what its items' statements need, cut to a token budget.

    `dependencies` are in dependency order: every item comes after the items it
    uses, ties broken by reading order. `dropped` lists the items that the budget
    cut, least needed first. `requirements` are the edges among the kept items and
    the target that fixed the order. `below_floor` lists the ranked dependencies
    that only similarity proposed, with a score under `similarity_floor`, which
    did not seed the closure and which no member needs.
    """

    dropped: list[Dependency] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    budget_tokens: int | None = None
    estimated_tokens: int = 0
    similarity_floor: float = 0.0
    below_floor: list[Dependency] = field(default_factory=list)

    def in_dependency_order(self) -> list[Dependency]:
        return list(self.dependencies)
