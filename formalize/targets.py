"""Statuses of Lean target attempts and the choice among an item's attempts."""

from __future__ import annotations

from collections.abc import Sequence

from kg.models import LeanTarget

CHECKED = "checked"  # every check passed and Lean compiled the file
DRAFT = "draft"  # every check that ran passed, but Lean did not compile the file
FAILED = "failed"
TARGET_STATUSES: tuple[str, ...] = (CHECKED, DRAFT, FAILED)
# The start of the status reason of an attempt that failed because a request to the model failed.
REQUEST_FAILED_REASON = "a request to the model failed"


def latest_with_status(targets: Sequence[LeanTarget], *statuses: str) -> LeanTarget | None:
    """Return the newest attempt whose status is the first of `statuses` that any attempt has.

    `targets` must be oldest first, as `GraphStore.targets` returns them.
    """
    for status in statuses:
        matching = [target for target in targets if target.status == status]
        if matching:
            return matching[-1]
    return None


def usable_formalization(targets: Sequence[LeanTarget]) -> LeanTarget | None:
    """Return the attempt whose Lean code a prompt may show for a context item: checked, else draft."""
    return latest_with_status(targets, CHECKED, DRAFT)


def preferred_target(targets: Sequence[LeanTarget]) -> LeanTarget | None:
    """Return the attempt that represents an item: the latest checked, else draft, else the latest."""
    return latest_with_status(targets, CHECKED, DRAFT) or (targets[-1] if targets else None)
