"""Schema and Cypher queries of the embedded LadybugDB graph store.

Every query takes its values as `$name` parameters. Labels and relationship
types come only from the fixed schema below, never from user text.

The reading-order property of an item is stored as `ord` because `order` is a
reserved word in LadybugDB's Cypher dialect; it maps to `Entity.order`.
"""

from __future__ import annotations

# --- Schema -----------------------------------------------------------------

# `complete` is false while `write_book` is writing the book, and readers skip
# books where it is false.
# NOTE: IF NOT EXISTS only creates missing tables. Columns added to a table later
# reach older files only through MIGRATIONS below.
SCHEMA: tuple[str, ...] = (
    """
    CREATE NODE TABLE IF NOT EXISTS Book(
        id STRING, title STRING, source_path STRING, page_count INT64,
        sha256 STRING, ingested_at STRING, complete BOOLEAN,
        PRIMARY KEY(id))
    """,
    """
    CREATE NODE TABLE IF NOT EXISTS Entity(
        id STRING, book_id STRING, kind STRING, number STRING, title STRING,
        text STRING, proof STRING, page INT64, ord INT64, section STRING,
        section_id STRING,
        PRIMARY KEY(id))
    """,
    # `parent_id` repeats the SUBSECTION_OF edge so a section reads back in one row.
    """
    CREATE NODE TABLE IF NOT EXISTS Section(
        id STRING, book_id STRING, number STRING, title STRING, level INT64,
        page INT64, parent_id STRING, ord INT64,
        PRIMARY KEY(id))
    """,
    """
    CREATE NODE TABLE IF NOT EXISTS Term(
        id STRING, book_id STRING, name STRING, surface STRING,
        PRIMARY KEY(id))
    """,
    # `checks` and the *_ids and list columns hold JSON text, because LadybugDB 0.22
    # cannot bind an empty list parameter to a STRING[] column.
    """
    CREATE NODE TABLE IF NOT EXISTS LeanTarget(
        id STRING, entity_id STRING, book_id STRING, informal_statement STRING,
        lean_code STRING, status STRING, check_output STRING, model STRING,
        created_at STRING, lean_path STRING, prompt_tokens INT64,
        completion_tokens INT64, status_reason STRING, checks STRING,
        verdict STRING, raw_answer STRING, repair_rounds INT64,
        dropped_context_ids STRING, local_definitions STRING, assumptions STRING,
        cost_usd DOUBLE, price_known BOOLEAN, cached_calls INT64,
        PRIMARY KEY(id))
    """,
    "CREATE REL TABLE IF NOT EXISTS CONTAINS(FROM Book TO Entity)",
    # `seq` is the position of the citation in the book's list of references,
    # so ordering by it gives the order of occurrence.
    """
    CREATE REL TABLE IF NOT EXISTS REFERENCES(
        FROM Entity TO Entity, surface STRING, page INT64, in_proof BOOLEAN, seq INT64)
    """,
    "CREATE REL TABLE IF NOT EXISTS HAS_SECTION(FROM Book TO Section)",
    "CREATE REL TABLE IF NOT EXISTS SUBSECTION_OF(FROM Section TO Section)",
    "CREATE REL TABLE IF NOT EXISTS IN_SECTION(FROM Entity TO Section)",
    # `seq` orders the section citations of a book as `seq` of REFERENCES does.
    """
    CREATE REL TABLE IF NOT EXISTS CITES_SECTION(
        FROM Entity TO Section, surface STRING, page INT64, in_proof BOOLEAN, seq INT64)
    """,
    "CREATE REL TABLE IF NOT EXISTS DEFINES(FROM Entity TO Term)",
    "CREATE REL TABLE IF NOT EXISTS MENTIONS(FROM Entity TO Term)",
    "CREATE REL TABLE IF NOT EXISTS FORMALIZES(FROM LeanTarget TO Entity)",
    # `rank` is the position of the item in the prompt context, from 0.
    "CREATE REL TABLE IF NOT EXISTS USED_CONTEXT(FROM LeanTarget TO Entity, rank INT64)",
)

# Columns added to LeanTarget and Entity after the first release. A file created
# before them gets them here, with defaults for the rows already in it. On a new
# file these statements change nothing.
MIGRATIONS: tuple[str, ...] = (
    "ALTER TABLE Entity ADD IF NOT EXISTS section_id STRING",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS status_reason STRING DEFAULT ''",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS checks STRING DEFAULT '[]'",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS verdict STRING DEFAULT ''",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS raw_answer STRING DEFAULT ''",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS repair_rounds INT64 DEFAULT 0",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS dropped_context_ids STRING DEFAULT '[]'",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS local_definitions STRING DEFAULT '[]'",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS assumptions STRING DEFAULT '[]'",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS cost_usd DOUBLE DEFAULT 0.0",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS price_known BOOLEAN DEFAULT false",
    "ALTER TABLE LeanTarget ADD IF NOT EXISTS cached_calls INT64 DEFAULT 0",
)

# --- Transactions -----------------------------------------------------------

BEGIN = "BEGIN TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"

# --- Writing a book ---------------------------------------------------------

# Ids among $ids that already belong to another book: primary keys are global.
FOREIGN_ENTITY_IDS = """
UNWIND $ids AS id
MATCH (e:Entity {id: id})
WHERE e.book_id <> $book_id
RETURN e.id, e.book_id
LIMIT 1
"""

FOREIGN_TERM_IDS = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
WHERE t.book_id <> $book_id
RETURN t.id, t.book_id
LIMIT 1
"""

# Lean targets that formalize an item of the book, read before the old items go.
TARGETS_OF_BOOK = """
MATCH (t:LeanTarget)-[:FORMALIZES]->(e:Entity)
WHERE e.book_id = $book_id
RETURN t.id, e.id
"""

# Context edges of any Lean target that point into the book.
CONTEXT_INTO_BOOK = """
MATCH (t:LeanTarget)-[u:USED_CONTEXT]->(e:Entity)
WHERE e.book_id = $book_id
RETURN t.id, e.id, u.rank
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

MARK_BOOK_COMPLETE = """
MATCH (b:Book {id: $book_id})
SET b.complete = true
"""

# DETACH DELETE also removes CONTAINS, REFERENCES, DEFINES, MENTIONS, IN_SECTION,
# CITES_SECTION, FORMALIZES and USED_CONTEXT edges that touch the deleted nodes.
DELETE_BOOK_ENTITIES = """
MATCH (e:Entity)
WHERE e.book_id = $book_id
DETACH DELETE e
"""

DELETE_BOOK_TERMS = """
MATCH (t:Term)
WHERE t.book_id = $book_id
DETACH DELETE t
"""

FOREIGN_SECTION_IDS = """
UNWIND $ids AS id
MATCH (s:Section {id: id})
WHERE s.book_id <> $book_id
RETURN s.id, s.book_id
LIMIT 1
"""

DELETE_BOOK_SECTIONS = """
MATCH (s:Section)
WHERE s.book_id = $book_id
DETACH DELETE s
"""

CREATE_ENTITIES = """
MATCH (b:Book {id: $book_id})
UNWIND $rows AS r
CREATE (b)-[:CONTAINS]->(:Entity {
    id: r.id, book_id: $book_id, kind: r.kind, number: r.number, title: r.title,
    text: r.text, proof: r.proof, page: r.page, ord: r.ord, section: r.section,
    section_id: r.section_id})
"""

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

CREATE_SECTION_REFERENCES = """
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id}), (s:Section {id: r.section_id})
CREATE (a)-[:CITES_SECTION {surface: r.surface, page: r.page, in_proof: r.in_proof, seq: r.seq}]->(s)
"""

CREATE_TERMS = """
UNWIND $rows AS r
CREATE (:Term {id: r.id, book_id: $book_id, name: r.name, surface: r.surface})
"""

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

# --- Lean targets -----------------------------------------------------------

DELETE_TARGETS_BY_ID = """
UNWIND $ids AS id
MATCH (t:LeanTarget {id: id})
DETACH DELETE t
"""

DELETE_BOOK_TARGETS = """
MATCH (t:LeanTarget)
WHERE t.book_id = $book_id
DETACH DELETE t
"""

CREATE_TARGET = """
MATCH (e:Entity {id: $entity_id})
CREATE (t:LeanTarget {
    id: $id, entity_id: $entity_id, book_id: $book_id,
    informal_statement: $informal_statement, lean_code: $lean_code,
    status: $status, check_output: $check_output, model: $model,
    created_at: $created_at, lean_path: $lean_path,
    prompt_tokens: $prompt_tokens, completion_tokens: $completion_tokens,
    status_reason: $status_reason, checks: $checks, verdict: $verdict,
    raw_answer: $raw_answer, repair_rounds: $repair_rounds,
    dropped_context_ids: $dropped_context_ids, local_definitions: $local_definitions,
    assumptions: $assumptions, cost_usd: $cost_usd, price_known: $price_known,
    cached_calls: $cached_calls})
CREATE (t)-[:FORMALIZES]->(e)
"""

LINK_FORMALIZES = """
UNWIND $rows AS r
MATCH (t:LeanTarget {id: r.target_id}), (e:Entity {id: r.entity_id})
CREATE (t)-[:FORMALIZES]->(e)
"""

LINK_CONTEXT = """
UNWIND $rows AS r
MATCH (t:LeanTarget {id: r.target_id}), (e:Entity {id: r.entity_id})
CREATE (t)-[:USED_CONTEXT {rank: r.rank}]->(e)
"""

# Rows of (target, context item id or null, rank), oldest target first and
# each target's context in rank order.
TARGETS_OF_ENTITY = """
MATCH (t:LeanTarget)-[:FORMALIZES]->(e:Entity {id: $entity_id})
OPTIONAL MATCH (t)-[u:USED_CONTEXT]->(c:Entity)
RETURN t, c.id, u.rank
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
RETURN b.id
"""

COMPLETE_BOOK = """
MATCH (b:Book {id: $book_id})
WHERE b.complete
RETURN b
"""

# One row per (book, kind). A book without items gives one row with a null kind.
COMPLETE_BOOKS_WITH_KIND_COUNTS = """
MATCH (b:Book)
WHERE b.complete
OPTIONAL MATCH (b)-[:CONTAINS]->(e:Entity)
RETURN b, e.kind, count(e)
ORDER BY b.id, e.kind
"""

KIND_COUNTS_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete
RETURN e.kind, count(e)
ORDER BY e.kind
"""

ENTITIES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete
RETURN e
ORDER BY e.ord, e.id
"""

ENTITY_BY_ID = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})
WHERE b.complete
RETURN e
"""

ENTITY_BOOKS = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.id IN $ids
RETURN e.id, b.id
"""

ENTITIES_BY_NUMBER = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.number = $number
RETURN e
ORDER BY e.ord, e.id
"""

ENTITIES_BY_NUMBER_AND_KIND = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)
WHERE b.complete AND e.number = $number AND e.kind = $kind
RETURN e
ORDER BY e.ord, e.id
"""

REFERENCES_FROM = """
MATCH (b:Book)-[:CONTAINS]->(a:Entity {id: $entity_id})-[r:REFERENCES]->(t:Entity)
WHERE b.complete
RETURN a.id, t.id, r.surface, r.page, r.in_proof
ORDER BY r.seq
"""

REFERENCES_TO = """
MATCH (b:Book)-[:CONTAINS]->(t:Entity {id: $entity_id})<-[r:REFERENCES]-(a:Entity)
WHERE b.complete
RETURN a.id, t.id, r.surface, r.page, r.in_proof
ORDER BY a.ord, a.id, r.seq
"""

TERMS_DEFINED_BY = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})-[:DEFINES]->(t:Term)
WHERE b.complete
RETURN t
ORDER BY t.name, t.id
"""

TERMS_MENTIONED_BY = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity {id: $entity_id})-[:MENTIONS]->(t:Term)
WHERE b.complete
RETURN t
ORDER BY t.name, t.id
"""

TERM_EXISTS = """
MATCH (t:Term {id: $term_id}), (b:Book)
WHERE b.id = t.book_id AND b.complete
RETURN t.id
"""

DEFINERS_OF = """
MATCH (b:Book)-[:CONTAINS]->(e:Entity)-[:DEFINES]->(t:Term {id: $term_id})
WHERE b.complete
RETURN e
ORDER BY e.ord, e.id
"""

SECTIONS_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:HAS_SECTION]->(s:Section)
WHERE b.complete
RETURN s
ORDER BY s.ord, s.id
"""

SECTION_REFERENCES_FROM = """
MATCH (b:Book)-[:CONTAINS]->(a:Entity {id: $entity_id})-[r:CITES_SECTION]->(s:Section)
WHERE b.complete
RETURN a.id, s.id, r.surface, r.page, r.in_proof
ORDER BY r.seq
"""

# Each edge query returns distinct (source, target) pairs: an item that cites
# another twice yields one REFERENCES edge here but two `Reference` records.
REFERENCE_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(a:Entity)-[:REFERENCES]->(t:Entity)
WHERE b.complete
RETURN DISTINCT a.id, t.id
"""

DEFINES_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:DEFINES]->(t:Term)
WHERE b.complete
RETURN DISTINCT e.id, t.id
"""

MENTIONS_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:MENTIONS]->(t:Term)
WHERE b.complete
RETURN DISTINCT e.id, t.id
"""

CITES_SECTION_EDGES_OF_BOOK = """
MATCH (b:Book {id: $book_id})-[:CONTAINS]->(e:Entity)-[:CITES_SECTION]->(s:Section)
WHERE b.complete
RETURN DISTINCT e.id, s.id
"""
