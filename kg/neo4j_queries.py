"""Schema and Cypher queries of the Neo4j graph store.

Every query takes its values as `$name` parameters. Labels and relationship
types come only from the fixed schema of `kg.models`, never from user text.

The nodes and properties are the same as in the embedded store, so the same
record conversions read both. The reading-order property of an item is `ord`,
and a null property (an unnumbered item's `number`) is simply absent in Neo4j.
Two things differ because a Neo4j book is written in several transactions:
deletes run in batches of `$limit` nodes, and a Lean target keeps its context
item ids in the `context_ids` list property as well as in its USED_CONTEXT
edges, so that a rerun after an interrupted write can restore the edges.
"""

from __future__ import annotations

# --- Schema -----------------------------------------------------------------

# Run one statement per transaction, because Neo4j does not mix schema changes
# with other statements in one transaction.
SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT book_id_unique IF NOT EXISTS FOR (b:Book) REQUIRE b.id IS UNIQUE",
    "CREATE CONSTRAINT entity_id_unique IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT term_id_unique IF NOT EXISTS FOR (t:Term) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT lean_target_id_unique IF NOT EXISTS FOR (t:LeanTarget) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT section_id_unique IF NOT EXISTS FOR (s:Section) REQUIRE s.id IS UNIQUE",
    "CREATE INDEX entity_book_id IF NOT EXISTS FOR (e:Entity) ON (e.book_id)",
    "CREATE INDEX section_book_id IF NOT EXISTS FOR (s:Section) ON (s.book_id)",
    "CREATE INDEX term_book_id IF NOT EXISTS FOR (t:Term) ON (t.book_id)",
    "CREATE INDEX lean_target_book_id IF NOT EXISTS FOR (t:LeanTarget) ON (t.book_id)",
)

# --- Writing a book ---------------------------------------------------------

# Ids among $ids that already belong to another book: ids are unique across books.
FOREIGN_ENTITY_IDS = """
UNWIND $ids AS id
MATCH (e:Entity {id: id})
WHERE e.book_id <> $book_id
RETURN e.id AS id, e.book_id AS book_id
LIMIT 1
"""

FOREIGN_TERM_IDS = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
WHERE t.book_id <> $book_id
RETURN t.id AS id, t.book_id AS book_id
LIMIT 1
"""

MERGE_BOOK_INCOMPLETE = """
MERGE (b:Book {id: $book_id})
SET b.title = $title,
    b.source_path = $source_path,
    b.page_count = $page_count,
    b.sha256 = $sha256,
    b.ingested_at = $ingested_at,
    b.complete = false
"""

MARK_BOOK_INCOMPLETE = """
MATCH (b:Book {id: $book_id})
SET b.complete = false
"""

MARK_BOOK_COMPLETE = """
MATCH (b:Book {id: $book_id})
SET b.complete = true
"""

# DETACH DELETE also removes every edge that touches the deleted nodes.
DELETE_BOOK_ENTITIES_BATCH = """
MATCH (e:Entity {book_id: $book_id})
WITH e LIMIT $limit
DETACH DELETE e
RETURN count(*) AS deleted
"""

DELETE_BOOK_TERMS_BATCH = """
MATCH (t:Term {book_id: $book_id})
WITH t LIMIT $limit
DETACH DELETE t
RETURN count(*) AS deleted
"""

FOREIGN_SECTION_IDS = """
UNWIND $ids AS id
MATCH (s:Section {id: id})
WHERE s.book_id <> $book_id
RETURN s.id AS id, s.book_id AS book_id
LIMIT 1
"""

DELETE_BOOK_SECTIONS_BATCH = """
MATCH (s:Section {book_id: $book_id})
WITH s LIMIT $limit
DETACH DELETE s
RETURN count(*) AS deleted
"""

CREATE_ENTITIES = """
MATCH (b:Book {id: $book_id})
UNWIND $rows AS r
CREATE (b)-[:CONTAINS]->(:Entity {
    id: r.id, book_id: $book_id, kind: r.kind, number: r.number, title: r.title,
    text: r.text, proof: r.proof, page: r.page, ord: r.ord, section: r.section,
    section_id: r.section_id})
"""

# `parent_id` repeats the SUBSECTION_OF edge so a section reads back in one row.
CREATE_SECTIONS = """
MATCH (b:Book {id: $book_id})
UNWIND $rows AS r
CREATE (b)-[:HAS_SECTION]->(:Section {
    id: r.id, book_id: $book_id, number: r.number, title: r.title, level: r.level,
    page: r.page, parent_id: r.parent_id, ord: r.ord})
"""

# Rows of (section id, parent id) for the sections that have a parent.
LINK_SUBSECTIONS = """
UNWIND $rows AS r
MATCH (s:Section {id: r.id}), (p:Section {id: r.parent_id})
CREATE (s)-[:SUBSECTION_OF]->(p)
"""

# Rows of (item id, section id) for the items inside a section.
LINK_IN_SECTION = """
UNWIND $rows AS r
MATCH (e:Entity {id: r.id}), (s:Section {id: r.section_id})
CREATE (e)-[:IN_SECTION]->(s)
"""

# `seq` orders the section citations of a book as `seq` of REFERENCES does.
CREATE_SECTION_REFERENCES = """
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id}), (s:Section {id: r.section_id})
CREATE (a)-[:CITES_SECTION {surface: r.surface, page: r.page, in_proof: r.in_proof, seq: r.seq}]->(s)
"""

CREATE_TERMS = """
UNWIND $rows AS r
CREATE (:Term {id: r.id, book_id: $book_id, name: r.name, surface: r.surface})
"""

# `seq` is the position of the citation in the book's list of references,
# so ordering by it gives the order of occurrence.
CREATE_REFERENCES = """
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id}), (b:Entity {id: r.target_id})
CREATE (a)-[:REFERENCES {surface: r.surface, page: r.page, in_proof: r.in_proof, seq: r.seq}]->(b)
"""

CREATE_DEFINES = """
UNWIND $rows AS r
MATCH (e:Entity {id: r.entity_id}), (t:Term {id: r.term_id})
CREATE (e)-[:DEFINES]->(t)
"""

CREATE_MENTIONS = """
UNWIND $rows AS r
MATCH (e:Entity {id: r.entity_id}), (t:Term {id: r.term_id})
CREATE (e)-[:MENTIONS]->(t)
"""

# --- Re-linking Lean targets after a book is rewritten -----------------------

# The item of a target is read from its `entity_id` property, which survives
# the deletion of the old items even when an earlier write was interrupted.
TARGETS_OF_BOOK = """
MATCH (t:LeanTarget {book_id: $book_id})
RETURN t.id AS target_id, t.entity_id AS entity_id
"""

LINK_FORMALIZES = """
UNWIND $rows AS r
MATCH (t:LeanTarget {id: r.target_id}), (e:Entity {id: r.entity_id})
MERGE (t)-[:FORMALIZES]->(e)
"""

# Context positions of any target, from any book, that name an item in $ids.
CONTEXT_INTO_IDS = """
MATCH (t:LeanTarget)
WHERE any(id IN t.context_ids WHERE id IN $ids)
UNWIND range(0, size(t.context_ids) - 1) AS rank
WITH t, rank, t.context_ids[rank] AS entity_id
WHERE entity_id IN $ids
RETURN t.id AS target_id, entity_id, rank
"""

LINK_CONTEXT = """
UNWIND $rows AS r
MATCH (t:LeanTarget {id: r.target_id}), (e:Entity {id: r.entity_id})
MERGE (t)-[:USED_CONTEXT {rank: r.rank}]->(e)
"""

# Blank out context ids whose item no longer exists, keeping the other ids at
# their positions, so the item does not come back if a later ingest restores it.
# The embedded store loses such edges the same way.
FORGET_MISSING_CONTEXT = """
MATCH (t:LeanTarget)
WHERE any(id IN t.context_ids WHERE id <> '' AND NOT EXISTS { MATCH (:Entity {id: id}) })
SET t.context_ids = [id IN t.context_ids |
    CASE WHEN EXISTS { MATCH (:Entity {id: id}) } THEN id ELSE '' END]
"""

# --- Lean targets -----------------------------------------------------------

DELETE_TARGETS_BY_ID = """
UNWIND $ids AS id
MATCH (t:LeanTarget {id: id})
DETACH DELETE t
"""

DELETE_BOOK_TARGETS = """
MATCH (t:LeanTarget {book_id: $book_id})
DETACH DELETE t
"""

# `$properties` contains every stored field of the target, so fields added to
# `LeanTarget` later need no change here.
CREATE_TARGET = """
MATCH (e:Entity {id: $entity_id})
CREATE (t:LeanTarget)
SET t = $properties, t.context_ids = $context_ids
CREATE (t)-[:FORMALIZES]->(e)
"""

# Rows of (target, context item id or null, rank), oldest target first and
# each target's context in rank order.
TARGETS_OF_ENTITY = """
MATCH (t:LeanTarget)-[:FORMALIZES]->(e:Entity {id: $entity_id})
OPTIONAL MATCH (t)-[u:USED_CONTEXT]->(c:Entity)
RETURN t AS target, c.id AS context_id, u.rank AS rank
ORDER BY t.created_at, t.id, u.rank
"""

# --- Deleting a book --------------------------------------------------------

DELETE_BOOK_NODE = """
MATCH (b:Book {id: $book_id})
DETACH DELETE b
"""

# --- Reading ----------------------------------------------------------------

# Existence checks see incomplete books too, so `delete_book` can remove them.
BOOK_EXISTS_ANY_STATE = """
MATCH (b:Book {id: $book_id})
RETURN b.id AS id
"""

COMPLETE_BOOK = """
MATCH (b:Book {id: $book_id})
WHERE b.complete
RETURN b AS book
"""

# One row per (book, kind). A book without items gives one row with a null kind.
COMPLETE_BOOKS_WITH_KIND_COUNTS = """
MATCH (b:Book)
WHERE b.complete
OPTIONAL MATCH (b)-[:CONTAINS]->(e:Entity)
RETURN b AS book, e.kind AS kind, count(e) AS count
ORDER BY b.id, kind
"""

# One row per kind of the book's items, or one row with a null kind when it has
# no items. A missing or incomplete book gives no rows.
COMPLETE_BOOK_WITH_KIND_COUNTS = """
MATCH (b:Book {id: $book_id})
WHERE b.complete
OPTIONAL MATCH (b)-[:CONTAINS]->(e:Entity)
RETURN b AS book, e.kind AS kind, count(e) AS count
ORDER BY kind
"""

ENTITIES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete
RETURN e {.*, embedding: null} AS entity
ORDER BY e.ord, e.id
"""

ENTITY_BY_ID = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})
WHERE b.complete
RETURN e {.*, embedding: null} AS entity
"""

ENTITY_BOOKS = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.id IN $ids
RETURN e.id, b.id
"""

ENTITIES_BY_NUMBER = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.number = $number
RETURN e {.*, embedding: null} AS entity
ORDER BY e.ord, e.id
"""

ENTITIES_BY_NUMBER_AND_KIND = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.number = $number AND e.kind = $kind
RETURN e {.*, embedding: null} AS entity
ORDER BY e.ord, e.id
"""

# The queries keyed by one item return no rows when the item does not exist,
# and one row with null edge columns when it has no such edge. So one round
# trip also checks that the item exists.
REFERENCES_FROM = """
MATCH (b:Book)-[:CONTAINS]->(a:Entity {id: $entity_id})
WHERE b.complete
OPTIONAL MATCH (a)-[r:REFERENCES]->(t:Entity)
RETURN a.id AS source_id, t.id AS target_id, r.surface AS surface, r.page AS page, r.in_proof AS in_proof
ORDER BY r.seq
"""

REFERENCES_TO = """
MATCH (b:Book)-[:CONTAINS]->(t:Entity {id: $entity_id})
WHERE b.complete
OPTIONAL MATCH (t)<-[r:REFERENCES]-(a:Entity)
RETURN a.id AS source_id, t.id AS target_id, r.surface AS surface, r.page AS page, r.in_proof AS in_proof
ORDER BY a.ord, a.id, r.seq
"""

SECTION_REFERENCES_FROM = """
MATCH (b:Book)-[:CONTAINS]->(a:Entity {id: $entity_id})
WHERE b.complete
OPTIONAL MATCH (a)-[r:CITES_SECTION]->(s:Section)
RETURN a.id AS source_id, s.id AS section_id, r.surface AS surface, r.page AS page, r.in_proof AS in_proof
ORDER BY r.seq
"""

SECTIONS_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:HAS_SECTION]->(s:Section)
WHERE b.complete
RETURN s AS section
ORDER BY s.ord, s.id
"""

TERMS_DEFINED_BY = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})
WHERE b.complete
OPTIONAL MATCH (e)-[:DEFINES]->(t:Term)
RETURN t AS term
ORDER BY t.name, t.id
"""

TERMS_MENTIONED_BY = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})
WHERE b.complete
OPTIONAL MATCH (e)-[:MENTIONS]->(t:Term)
RETURN t AS term
ORDER BY t.name, t.id
"""

TERM_EXISTS = """
MATCH (t:Term {id: $term_id})
MATCH (b:Book {id: t.book_id})
WHERE b.complete
RETURN t.id AS id
"""

DEFINERS_OF = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity)-[:DEFINES]->(t:Term {id: $term_id})
WHERE b.complete
RETURN e {.*, embedding: null} AS entity
ORDER BY e.ord, e.id
"""

# Each edge query returns distinct (source, target) pairs: an item that cites
# another twice yields one REFERENCES edge here but two `Reference` records.
REFERENCE_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(a:Entity)-[:REFERENCES]->(t:Entity)
WHERE b.complete
RETURN DISTINCT a.id AS source, t.id AS target
"""

DEFINES_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:DEFINES]->(t:Term)
WHERE b.complete
RETURN DISTINCT e.id AS source, t.id AS target
"""

MENTIONS_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:MENTIONS]->(t:Term)
WHERE b.complete
RETURN DISTINCT e.id AS source, t.id AS target
"""

CITES_SECTION_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:CITES_SECTION]->(s:Section)
WHERE b.complete
RETURN DISTINCT e.id AS source, s.id AS target
"""
