"""The `reconciler` command: a lazy click group, one module per verb (STYLE §4, §5).

Errors: ReconcilerError -> `error: ...` plus hint on stderr, exit 1; anything else ->
"unexpected error; rerun with --debug", exit 1; `--debug` prints the traceback (credentials in
store URLs masked), exit 1. Usage errors exit 1 so
that exit 2 only ever means "changes present" (SPEC §7).
"""

from __future__ import annotations

import contextvars
import gc
import logging
import os
import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import EXIT_ERROR, EXIT_OK, ReconcilerError
from reconciler.redact import redact_urls
from reconciler.render.escape import term

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
    "explain": "reconciler.cli.explain:explain_cmd",
    "merge-results": "reconciler.cli.merge_results:merge_results_cmd",
    "rollout": "reconciler.cli.rollout:rollout_cmd",
    "cache": "reconciler.cli.cache:cache_cmd",
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
    "explain": "Show which layer (defaults, profile, client file) set each value of a client.",
    "merge-results": "Combine the --results files of every shard into one report.",
    "rollout": "Apply in waves with health gates, bake time and automatic revert.",
    "cache": "Show or clear the desired-state cache that makes warm runs fast.",
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
        if module_name not in sys.modules:
            _import_once(module_name)
        command: click.Command = getattr(sys.modules[module_name], attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _import_once(module_name: str) -> None:
    """Import a verb's module (its store layer, loader, planner: ~500 modules) without the
    cyclic collector's passes over what it creates, ~15 % of the import's CPU: modules,
    classes and functions live as long as the process, so they go straight to the permanent
    generation (`gc.freeze`; api/heap.py's outermost `kept()` block gives them back)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        # __import__, not importlib.import_module: `-X importtime` reports only the former.
        __import__(module_name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--debug",
    is_flag=True,
    help="Show tracebacks, and log every phase, batch and lock wait to stderr (env "
    "RECONCILER_DEBUG=1).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log each phase to stderr: store, desired commit, counts and time per phase.",
)
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
    _configure_logging(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)


class _Redacting(logging.Filter):
    """Last line of defence: no log line carries a store password (SPEC §4)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_urls(record.getMessage()), None
        return True


class _Stderr:
    """sys.stderr as it is when a line is written (tests and pipes swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _configure_logging(level: int) -> None:
    """The reconciler's own loggers at `level` on stderr, with milliseconds since start.
    Libraries keep their own levels (SQLAlchemy's debug logs carry SQL parameters, i.e.
    setting values, so they are never switched on here)."""
    logger = logging.getLogger("reconciler")
    for old in [h for h in logger.handlers if getattr(h, "reconciler_cli", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(
        logging.Formatter("%(relativeCreated)7.0fms %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(_Redacting())
    handler.reconciler_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)


def _debug_requested(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("RECONCILER_DEBUG") == "1"


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        # In a context of its own: what a run sets (the cache's --no-cache) ends with it.
        result: Any = contextvars.copy_context().run(
            cli.main, args=args, prog_name="reconciler", standalone_mode=False
        )
    except ReconcilerError as exc:
        if debug:
            return _print_traceback()
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
            return _print_traceback()
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


def _print_traceback() -> int:
    """--debug: the traceback on stderr, store URL credentials masked (issue 18)."""
    import traceback

    click.echo(_redact(traceback.format_exc()).rstrip("\n"), err=True)
    return EXIT_ERROR


def _redact(text: str) -> str:
    """No password of a store URL, and no control character from data (issue 18); a message's
    own line breaks stay (ids, names, reasons and actors with control characters are refused
    before they reach one)."""
    return "\n".join(term(line) for line in redact_urls(text).split("\n"))


def _print_error(exc: ReconcilerError) -> None:
    for problem in exc.problems:
        click.echo(_redact(str(problem)), err=True)
    click.echo(f"error: {_redact(exc.message)}", err=True)
    if exc.hint:
        click.echo(f"hint: {_redact(exc.hint)}", err=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
