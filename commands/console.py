"""Output helpers shared by the command modules: consoles, JSON and item formatting.

Results go to stdout; progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import json
import os
import sys

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from commands.services import Services
from commands.settings import resolve_settings
from kg.models import LeanTarget
from retrieval.models import DependencyContext



def silence_stdout() -> None:
    """Point stdout at /dev/null so that writes after a closed pipe do not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class ResultConsole(Console):
    """A console whose reader may stop early (`| head`), which is not a failure."""

    def on_broken_pipe(self) -> None:
        # rich's default exits with status 1; plain click.echo output exits with 0.
        self.quiet = True
        silence_stdout()
        raise SystemExit(0)


stdout = ResultConsole(highlight=False, soft_wrap=True)
# soft_wrap keeps each message on one line when stderr is a file or a pipe.
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
# The width a table is measured in when nothing limits it, such as when stdout is a pipe.
_UNBOUNDED_COLUMNS = 10_000


def print_table(table: Table, console: Console | None = None) -> None:
    """Print a table on stdout (or `console`); when it is not a terminal, as wide as the content needs.

    A pipe or a file has no width of its own, and at rich's default of 80 columns
    wide tables would wrap or elide their cells.
    """
    console = stdout if console is None else console
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(_UNBOUNDED_COLUMNS), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    wide = ResultConsole(file=console.file, width=natural, highlight=False, soft_wrap=True, no_color=console.no_color)
    wide.print(table)


def services_for(ctx: click.Context, **flags: object) -> Services:
    settings = resolve_settings({**ctx.obj, **flags})
    services = Services(settings)
    ctx.call_on_close(services.close)
    return services


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))



def print_target(target: LeanTarget) -> None:
    reason = f" ({target.status_reason})" if target.status_reason else ""
    stdout.print(f"[bold]Lean target {target.id}[/bold]: {target.status}{reason}", highlight=False)
    cost = f"{target.cost_usd:.4f} USD" if target.price_known else "unknown price"
    answers = "answer" if target.cached_calls == 1 else "answers"
    cached = f", {target.cached_calls} {answers} from cache" if target.cached_calls else ""
    stdout.print(
        f"model {target.model}, {target.prompt_tokens} prompt + {target.completion_tokens} completion tokens, "
        f"{cost}{cached}, {target.repair_rounds} repair rounds, verdict {target.verdict or 'none'}",
        markup=False,
    )
    if target.dropped_context_ids:
        stdout.print("dropped from the context: " + ", ".join(target.dropped_context_ids), markup=False)
    stdout.print(target.informal_statement, markup=False)
    stdout.print(target.lean_code, markup=False)
    stdout.print(target.check_output, markup=False)
    if target.lean_path:
        stdout.print(f"written to {target.lean_path}", markup=False)


def print_context(context: DependencyContext) -> None:
    from commands.dependency_output import print_tree

    print_tree(stdout, context)
