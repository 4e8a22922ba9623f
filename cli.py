"""The `lemmagraph` command line: global options, the command list and exit statuses.

The commands themselves live in the `commands` package, one module per group.

Exit status: 0 on success, 1 when a command fails, 2 on a usage error.
Results go to stdout; progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from commands.console import silence_stdout, stderr
from commands.demo_command import demo
from commands.dependency_commands import deps, search
from commands.formalize_commands import formalize, prompt
from commands.library_commands import books, delete, evaluate, export, ingest, show
from kg.errors import LemmagraphError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder for the graph, vectors and Lean files [env LEMMAGRAPH_HOME].")
@click.option("--store", type=click.Choice(["embedded", "neo4j"]), default=None,
              help="Graph store backend [env LEMMAGRAPH_STORE; default embedded].")
@click.option("--neo4j-uri", default=None,
              help="Neo4j server for --store neo4j, such as bolt://127.0.0.1:7687 [env NEO4J_URI].")
@click.option("--neo4j-username", default=None, help="Neo4j user name [env NEO4J_USERNAME; default neo4j].")
@click.option("--neo4j-password", default=None,
              help="Neo4j password [env NEO4J_PASSWORD, which other users cannot see in the process list].")
@click.option("--neo4j-database", default=None,
              help="Neo4j database name [env NEO4J_DATABASE; default: the server's default database].")
@click.option("-v", "--verbose", count=True, help="Log more to stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log only errors.")
@click.pass_context
def main(
    ctx: click.Context,
    home: Path | None,
    store: str | None,
    neo4j_uri: str | None,
    neo4j_username: str | None,
    neo4j_password: str | None,
    neo4j_database: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Turn a textbook PDF into a graph of its items and generate Lean 4 targets.

    Example: lemmagraph ingest book.pdf --book oor && lemmagraph deps oor "Exercise 3.4"
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {
        "home": home,
        "store": store,
        "neo4j_uri": neo4j_uri,
        "neo4j_username": neo4j_username,
        "neo4j_password": neo4j_password,
        "neo4j_database": neo4j_database,
    }


for command in (
    ingest,
    books,
    delete,
    show,
    deps,
    search,
    prompt,
    formalize,
    export,
    evaluate,
    demo,
):
    main.add_command(command)


def run() -> None:
    """Entry point that turns Lemmagraph errors into one line on stderr and exit status 1."""
    try:
        status = main(standalone_mode=False)
    except click.exceptions.Abort:
        # Without standalone mode, click turns Ctrl-C inside a command into Abort.
        stderr.print("interrupted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except LemmagraphError as error:
        stderr.print(f"error: {error}", markup=False)
        sys.exit(1)
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`), which is not a failure.
        silence_stdout()
        sys.exit(0)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    run()
