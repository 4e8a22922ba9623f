"""Results of dependency recovery, passed on to formalization."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.models import Entity


@dataclass
class Dependency:
    """An item the target relies on, with a score and the reasons it was returned."""

    entity: Entity
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class DependencyContext:
    """The target item and its recovered dependencies, best first."""

    target: Entity
    dependencies: list[Dependency] = field(default_factory=list)

    def in_reading_order(self) -> list[Dependency]:
        """Return the dependencies ordered as they appear in the book."""
        return sorted(self.dependencies, key=lambda dependency: dependency.entity.order)
