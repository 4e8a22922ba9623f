import numpy as np

from kg.models import Entity
from retrieval.embedding import MAX_EMBEDDED_CHARS, entity_embedding_text


def test_embeddings_are_normalized_rows(embedder):
    vectors = embedder.embed(["a convex set", "gradient descent step"])

    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_related_sentences_are_closer(embedder):
    convex, also_convex, unrelated = embedder.embed(
        [
            "A set is convex if it contains every segment between two of its points.",
            "Convex sets contain the line segment joining any two points in them.",
            "The bakery sells bread on weekdays and cakes on Sundays.",
        ]
    )

    assert float(convex @ also_convex) > float(convex @ unrelated) + 0.3


def test_empty_input_gives_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, 384)


def test_embedding_text_has_label_title_and_cut():
    entity = Entity("b:lemma:3.2", "b", "lemma", "3.2", "Descent", "x" * 5000, 4, 7)

    text = entity_embedding_text(entity)

    assert text.startswith("Lemma 3.2 (Descent). xxx")
    assert len(text) == MAX_EMBEDDED_CHARS
