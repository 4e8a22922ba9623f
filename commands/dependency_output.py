"""Output formats of `lemmagraph deps`: a text tree, JSON, Graphviz DOT and SVG."""

from __future__ import annotations

import shutil
import subprocess

from rich.console import Console

from kg.errors import LemmagraphError
from kg.models import Entity
from retrieval.closure import estimate_tokens
from retrieval.models import (
    CITATION,
    SIMILARITY,
    TERM,
    TRANSITIVE_CITATION,
    ClosureContext,
    Dependency,
    DependencyContext,
    Requirement,
)

FORMATS = ("tree", "json", "dot", "svg")
DOT_TIMEOUT_SECONDS = 60

# Fill colours by item kind; kinds not listed are drawn white.
_KIND_COLOURS = {
    "definition": "#cfe2ff",
    "notation": "#cff4fc",
    "theorem": "#ffd8a8",
    "proposition": "#ffe8cc",
    "lemma": "#fff3bf",
    "corollary": "#fff9db",
    "algorithm": "#e5dbff",
    "example": "#d3f9d8",
    "exercise": "#ffe3e3",
    "remark": "#f1f3f5",
}
# DOT edge attributes by the reason an item is linked.
_EDGE_STYLES = {
    CITATION: 'style=solid, penwidth=1.6, color="#212529"',
    TRANSITIVE_CITATION: 'style=solid, penwidth=1.0, color="#868e96"',
    TERM: 'style=dashed, penwidth=1.2, color="#1c7ed6"',
    SIMILARITY: 'style=dotted, penwidth=1.2, color="#868e96"',
}
_EDGE_LABELS = {CITATION: "cites", TRANSITIVE_CITATION: "cites", TERM: "term", SIMILARITY: "similar"}
_MAX_TITLE_CHARS = 32


def entity_dict(entity: Entity) -> dict:
    return {
        "id": entity.id,
        "kind": entity.kind,
        "number": entity.number,
        "title": entity.title,
        "page": entity.page,
    }


def context_dict(context: DependencyContext) -> dict:
    """Return the JSON shape of a context; a closure adds its dropped items, token estimate and floor."""
    data: dict = {
        "target": entity_dict(context.target),
        "dependencies": [_dependency_dict(dependency) for dependency in context.dependencies],
    }
    if isinstance(context, ClosureContext):
        data["dropped"] = [_dependency_dict(dependency) for dependency in context.dropped]
        data["budget_tokens"] = context.budget_tokens
        data["estimated_tokens"] = context.estimated_tokens
        data["similarity_floor"] = context.similarity_floor
        data["below_floor"] = [_dependency_dict(dependency) for dependency in context.below_floor]
    return data


def _dependency_dict(dependency: Dependency) -> dict:
    return {**entity_dict(dependency.entity), "score": dependency.score, "reasons": dependency.reasons}


def print_tree(console: Console, context: DependencyContext) -> None:
    """Print the target, then each dependency with its score and reasons."""
    target = context.target
    heading = "needs, in dependency order" if isinstance(context, ClosureContext) else "depends on"
    console.print(f"[bold]{target.label}[/bold] (page {target.page}) {heading}:")
    if not context.dependencies and isinstance(context, ClosureContext) and context.dropped:
        # The budget drops the most needed item last.
        most_needed = context.dropped[-1].entity
        console.print(
            f"  none kept: all {len(context.dropped)} items were dropped to fit the {context.budget_tokens}-token "
            f"budget. Raise --budget to at least {estimate_tokens(most_needed)} to keep the most needed one, "
            f"{most_needed.label}, or leave --budget out to keep every item.",
            markup=False,
        )
    elif not context.dependencies:
        console.print("  nothing found")
    for dependency in context.dependencies:
        _print_dependency(console, dependency)
    if isinstance(context, ClosureContext):
        budget = f" of a {context.budget_tokens}-token budget" if context.budget_tokens is not None else ""
        console.print(f"about {context.estimated_tokens} tokens{budget}")
        if context.dropped:
            console.print(f"dropped to fit the budget ({len(context.dropped)}), least needed first:")
            for dependency in context.dropped:
                _print_dependency(console, dependency)
        if context.below_floor:
            console.print(
                f"left out, proposed only by similarity with a score under {context.similarity_floor:.2f} "
                f"({len(context.below_floor)}):"
            )
            for dependency in context.below_floor:
                _print_dependency(console, dependency)


def _print_dependency(console: Console, dependency: Dependency) -> None:
    entity = dependency.entity
    title = f" ({entity.title})" if entity.title else ""
    console.print(f"  {dependency.score:.2f}  {entity.label}{title}, page {entity.page}", markup=False)
    for reason in dependency.reasons:
        console.print(f"          - {reason}", markup=False)


def render_dot(context: DependencyContext) -> str:
    """Draw the target and its dependencies as a Graphviz digraph, edges from user to used item.

    Nodes are coloured by kind, and the target has a thick border. Edges are
    styled by reason: solid for citations (grey when transitive), dashed blue
    for defined terms, dotted grey for semantic similarity.
    """
    lines = [
        "digraph dependencies {",
        "  rankdir=BT;",
        "  nodesep=0.25; ranksep=0.45;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.05"];',
        '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.6];',
    ]
    target = context.target
    lines.append(f"  {_quote(target.id)} [{_node_attributes(target)}, penwidth=2.5];")
    for dependency in context.dependencies:
        lines.append(f"  {_quote(dependency.entity.id)} [{_node_attributes(dependency.entity, dependency)}];")
    for edge in _edges(context):
        style = _EDGE_STYLES.get(edge.reason, _EDGE_STYLES[CITATION])
        label = _EDGE_LABELS.get(edge.reason, edge.reason)
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [{style}, label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_text: str) -> str:
    """Lay out DOT text with Graphviz's `dot` program and return the SVG document."""
    program = shutil.which("dot")
    if program is None:
        raise LemmagraphError(
            "svg output needs the Graphviz 'dot' program, which is not on PATH: install the "
            "'graphviz' package (for example 'apt-get install graphviz') or use --format dot"
        )
    try:
        result = subprocess.run(
            [program, "-Tsvg"],
            input=dot_text,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise LemmagraphError(f"Graphviz 'dot' timed out after {DOT_TIMEOUT_SECONDS} s; use --format dot") from error
    if result.returncode != 0:
        raise LemmagraphError(f"Graphviz 'dot' failed with status {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def _edges(context: DependencyContext) -> list[Requirement]:
    """Return the closure's requirements, or for a ranked context one edge per dependency by its strongest signal."""
    if isinstance(context, ClosureContext):
        return context.requirements
    shown = {dependency.entity.id for dependency in context.dependencies}
    edges = []
    for dependency in context.dependencies:
        reason = dependency.strongest_signal or CITATION
        source = context.target.id
        if reason == TRANSITIVE_CITATION and dependency.via in shown:
            source = dependency.via
        edges.append(Requirement(source, dependency.entity.id, reason))
    return edges


def _node_attributes(entity: Entity, dependency: Dependency | None = None) -> str:
    label = entity.label
    if entity.title:
        title = entity.title if len(entity.title) <= _MAX_TITLE_CHARS else entity.title[: _MAX_TITLE_CHARS - 1] + "…"
        label += f"\n{title}"
    label += f"\np. {entity.page}"
    if dependency is not None:
        label += f"  score {dependency.score:.2f}"
    tooltip = "; ".join(dependency.reasons) if dependency is not None else "target"
    colour = _KIND_COLOURS.get(entity.kind, "#ffffff")
    return f"label={_quote(label)}, fillcolor={_quote(colour)}, tooltip={_quote(tooltip)}"


def _quote(text: str) -> str:
    """Quote a DOT string: escape backslashes and quotes, and write newlines as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
