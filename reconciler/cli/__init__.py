"""The `reconciler` command: a lazy click group, one module per verb (STYLE §4, §5).

Errors: ReconcilerError -> `error: ...` plus hint on stderr, exit 1; anything else ->
"unexpected error; rerun with --debug", exit 1; `--debug` re-raises. Usage errors exit 1 so
that exit 2 only ever means "changes present" (SPEC §7).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import EXIT_ERROR, EXIT_OK, ReconcilerError

# verb -> "module:attribute"; modules import only when their verb runs (fast --help).
VERBS: dict[str, str] = {
    "validate": "reconciler.cli.validate:validate_cmd",
    "schema": "reconciler.cli.schema:schema_cmd",
    "init": "reconciler.cli.init:init_cmd",
    "status": "reconciler.cli.status:status_cmd",
    "plan": "reconciler.cli.plan:plan_cmd",
    "apply": "reconciler.cli.apply:apply_cmd",
    "history": "reconciler.cli.history:history_cmd",
    "revert": "reconciler.cli.revert:revert_cmd",
    "drift": "reconciler.cli.drift:drift_cmd",
    "import": "reconciler.cli.import_:import_cmd",
    "serve": "reconciler.cli.serve:serve_cmd",
    "rollout": "reconciler.cli.rollout:rollout_cmd",
}

SHORT_HELP: dict[str, str] = {
    "validate": "Check the desired state; report every problem with file:line:col.",
    "schema": "Print the JSON Schema of a desired-state file kind.",
    "init": "Create or upgrade the registry and history tables (idempotent).",
    "status": "Show the live unified view of clients' modules.",
    "plan": "Show what apply would change, per client and store.",
    "apply": "Apply desired state (or a saved plan) to both stores.",
    "history": "List recorded runs, or show one run.",
    "revert": "Restore the before-state of a recorded run.",
    "drift": "Classify clients: in sync, drifted, pending, never applied.",
    "import": "Write client YAML from the live state of both stores.",
    "serve": "Run the web dashboard.",
    "rollout": "Apply in waves with health gates, bake time and automatic revert.",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = VERBS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Reconcile per-client module state in git with the live stores.

    \b
    Typical flow:
      reconciler validate              # check desired-state/
      reconciler plan                  # what would change
      reconciler apply --yes           # make it live, recorded as a run
      reconciler drift                 # exit 2 when live was changed outside git
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("RECONCILER_DEBUG") == "1"


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result: Any = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except ReconcilerError as exc:
        if debug:
            raise
        _print_error(exc)
        return EXIT_ERROR
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception:
        if debug:
            raise
        etype, evalue, _ = sys.exc_info()
        click.echo(
            f"error: unexpected {etype.__name__ if etype else 'error'}: "
            f"{_redact(str(evalue))}\nThis is a bug; rerun with --debug for the traceback.",
            err=True,
        )
        return EXIT_ERROR
    if isinstance(result, int):
        return result
    return EXIT_OK


def _redact(text: str) -> str:
    from reconciler.redact import redact_urls

    return redact_urls(text)


def _print_error(exc: ReconcilerError) -> None:
    for problem in exc.problems:
        click.echo(_redact(str(problem)), err=True)
    click.echo(f"error: {_redact(exc.message)}", err=True)
    if exc.hint:
        click.echo(f"hint: {_redact(exc.hint)}", err=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
