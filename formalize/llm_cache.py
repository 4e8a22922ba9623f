"""An on-disk cache of model answers, so that rerunning a request sends nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_key(
    model: str,
    messages: Sequence[Mapping[str, str]],
    response_format: Mapping[str, Any] | None,
    base_url: str = "",
) -> str:
    """Return the sha256 hex digest of the endpoint's base URL, the model name, the full messages
    and the response format.

    The JSON encoding sorts keys, so two equal requests always give the same key.
    """
    request = {
        "base_url": base_url,
        "model": model,
        "messages": list(messages),
        "response_format": response_format,
    }
    encoded = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per cached answer, at `<folder>/<key[:2]>/<key>.json`.

    A file that cannot be read or parsed counts as a miss and is logged, so a damaged
    cache costs a request but never fails a run.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the stored record of `key`, or None when there is none."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("Could not read the cached answer %s: %s", path, error)
            return None
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            log.warning("Ignoring the damaged cached answer %s: %s", path, error)
            return None
        return record if isinstance(record, dict) else None

    def put(self, key: str, record: Mapping[str, Any]) -> None:
        """Store a record under `key`, replacing the file atomically.

        A write failure is logged and not raised, because the answer itself is fine.
        """
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
            ) as handle:
                json.dump(dict(record), handle, ensure_ascii=False, indent=1)
                temporary = Path(handle.name)
            os.replace(temporary, path)
        except OSError as error:
            log.warning("Could not write the cached answer %s: %s", path, error)

    def delete(self, key: str) -> None:
        """Remove the record of `key` if there is one. A failure is logged and not raised."""
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Could not remove the cached answer %s: %s", path, error)
            return
        log.info("Removed the cached answer %s", key[:12])
