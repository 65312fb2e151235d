"""``amplifier-model-router``: prove, explain and check per-agent routing, offline, with no keys.

Commands: ``verify`` (a real session delegating to every agent), ``show`` (the routing table),
``explain`` (one agent's decision, candidate by candidate), ``validate`` (every problem of a
bundle), ``settings`` (the effective routing settings and where each came from), ``report``
(cost per agent from recorded sessions).

Exit status: one table (:class:`ExitStatus`, README's "Exit status") that every command keeps.
Bad input is one ``error:`` line on stderr and status 2 in every command.

Settings files: ``show``, ``explain`` and ``settings`` apply the user's layers (org file, user
and project ``settings.yaml``) by default, as a session would; ``verify`` checks the bundle's
own routing and ignores them unless ``--settings`` is given, so it means the same on every
machine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import InputError
from ..events import IGNORED_SETTINGS_FILE
from .status import ExitStatus

if TYPE_CHECKING:  # the commands import their machinery lazily: --help stays instant
    from .expect import Planner
    from .scenario import Scenario

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(command: F) -> F:
    """Bad input becomes one line on stderr and status 2, never a traceback; a closed pipe
    ends the command quietly with status 141."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        except InputError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(ExitStatus.BAD_INPUT)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(ExitStatus.BROKEN_PIPE)

    return wrapper  # type: ignore[return-value]


def _prices_in_force(command: F) -> F:
    """``--prices FILE`` for the command's whole run (the list-price table: prices where a
    catalog gives none, for the price column, cost and tier ceilings); the file is validated
    first, like ``$AMPLIFIER_MODEL_ROUTER_PRICES``, which it overrides. Goes under
    :func:`_guarded`, so a bad file is one ``error:`` line."""

    @functools.wraps(command)
    def wrapper(*args: Any, prices: str | None, **kwargs: Any) -> Any:
        from ..resolve.prices import prices_in_force

        with prices_in_force(prices):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _exit_on_settings_problems(routing: Any) -> None:
    """Probable typos are ``warning:`` lines. A settings file a session would ignore is bad
    input: the output above shows what a session uses without it; each refused file is one
    ``error:`` line, then status 2."""
    for warning in getattr(routing, "warnings", ()):
        click.echo(f"warning: {warning}", err=True)
    problems = getattr(routing, "problems", ())
    for problem in problems:
        click.echo(f"error: {problem} ({IGNORED_SETTINGS_FILE})", err=True)
    if problems:
        sys.exit(ExitStatus.BAD_INPUT)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner)
        pass


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _bundle_option(*, positional: bool) -> Callable[[F], F]:
    """``--bundle PATH`` (``-b``) on every command that reads a bundle; where the bundle was
    positional before (verify, show, validate) ``[BUNDLE]`` stays, as another spelling."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, bundle: str | None, **kwargs: Any) -> Any:
            given = kwargs.pop("bundle_arg", None)
            if given is not None and bundle is not None and given != bundle:
                raise click.UsageError(f"two bundles given: {given!r} and --bundle {bundle!r}")
            return command(*args, bundle=bundle if bundle is not None else given, **kwargs)

        decorated = click.option(
            "-b",
            "--bundle",
            metavar="PATH",
            help="Bundle file or folder (default: ./bundle.md, else the shipped one).",
        )(wrapper)
        if positional:
            decorated = click.argument("bundle_arg", metavar="[BUNDLE]", required=False)(decorated)
        return decorated  # type: ignore[return-value]

    return decorate


def _scenario_options(*, settings_default: bool) -> Callable[[F], F]:
    """The options every routing command shares: catalog, provider states, session model."""

    def decorate(command: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--down",
                    multiple=True,
                    metavar="PROVIDER",
                    help="Provider not mounted (repeatable).",
                ),
                click.option(
                    "--failing",
                    multiple=True,
                    metavar="PROVIDER",
                    help="Provider whose list_models() raises (repeatable).",
                ),
                click.option(
                    "--flaky",
                    multiple=True,
                    metavar="PROVIDER",
                    help="Provider whose complete() answers 429 from the first call (repeatable).",
                ),
                click.option(
                    "--catalog",
                    metavar="FILE",
                    help="Model catalog snapshot to route against (default: the embedded one).",
                ),
                click.option(
                    "--prices",
                    metavar="FILE",
                    help="List-price table (default: $AMPLIFIER_MODEL_ROUTER_PRICES, else the embedded one).",
                ),
                click.option(
                    "--session-model",
                    metavar="PROVIDER/MODEL",
                    help="The parent session's model (default: the first healthy provider's own).",
                ),
                click.option(
                    "--settings/--no-settings",
                    "use_settings",
                    default=settings_default,
                    show_default=True,
                    help="Apply org/user/project settings files (AMPLIFIER_HOME, .amplifier/).",
                ),
                click.option(
                    "--shared-state",
                    is_flag=True,
                    help="Use the routing state store the settings name (sqlite/redis) instead of memory.",
                ),
                click.option(
                    "--json", "as_json", is_flag=True, help="Print JSON instead of a table."
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _build(bundle: str | None, options: Mapping[str, Any]) -> tuple[Scenario, Planner]:
    """The scenario the shared options describe (repeated provider names count once)."""
    from .expect import Planner
    from .scenario import ScenarioOptions, build_scenario

    scenario = build_scenario(
        ScenarioOptions(
            bundle=bundle,
            catalog=options["catalog"],
            down=tuple(dict.fromkeys(options["down"])),
            failing=tuple(dict.fromkeys(options["failing"])),
            flaky=tuple(dict.fromkeys(options["flaky"])),
            session_model=options["session_model"],
            use_settings=options["use_settings"],
            shared_state=options["shared_state"],
        )
    )
    return scenario, Planner(scenario)


class _InOrder(click.Group):
    """Commands listed in the order a new user needs them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    cls=_InOrder, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(
    package_name="amplifier-bundle-model-router", prog_name="amplifier-model-router"
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show the module's and the kernel's log messages."
)
def main(verbose: bool) -> None:
    """Per-agent model routing for Amplifier: check it on your machine, offline, in seconds.

    \b
    Start here:
      amplifier-model-router verify              every agent of ./bundle.md gets its tier's model
      amplifier-model-router verify --down anthropic
      amplifier-model-router explain git-ops     why git-ops gets the model it gets
      amplifier-model-router show                the routing table
      amplifier-model-router validate -b mine.md every problem of a bundle, with file and field
      amplifier-model-router report              cost per agent of this folder's recorded sessions

    --bundle PATH (-b) names the bundle in every command (verify, show and validate also take
    it as their argument); it defaults to bundle.md in the current folder, else the bundle
    shipped with this package. Providers are simulated from a dated catalog snapshot: no API
    keys, no network.
    """
    root = logging.getLogger()
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    root.setLevel(logging.DEBUG if verbose else logging.ERROR)


@main.command(short_help="Prove every agent gets its tier's model, in a real session.")
@_bundle_option(positional=True)
@_scenario_options(settings_default=False)
@click.option("--budget", "budget_usd", type=float, metavar="USD",
              help="Simulate a session under this session cap, one delegation at a time, crossing it.")
@click.option("--at-cap", type=click.Choice(["budget-only", "refuse"]), default=None,
              help="With --budget: what happens at the cap (default: the settings', else budget-only).")
@click.option("--tokens", type=click.IntRange(1, 10_000_000), default=100_000, show_default=True,
              help="With --budget: input tokens every model call reports.")
@_guarded
@_prices_in_force
def verify(
    bundle: str | None, as_json: bool, budget_usd: float | None, at_cap: str | None, tokens: int, **options: Any
) -> None:
    """Run a real session that delegates once to every agent and to self; check each model.

    Each row shows the model the child session's provider actually received, against the
    model the agent's tier resolves to in the same catalog with the same providers down.
    With --budget, the delegations run one after another under that session cap and each row
    shows the tier the agent ran on as spend grew. Exit status 1 on any mismatch or error.
    """
    from .render import make_console, render_verify, verify_json
    from .verify import VerifyRun, run_verify

    scenario, planner = _build(bundle, options)
    if budget_usd is not None:
        _verify_budget(scenario, planner, as_json, budget_usd, at_cap, tokens)
        return

    async def run() -> VerifyRun:
        return await run_verify(scenario, await planner.routes())

    result = asyncio.run(run())
    if as_json:
        _echo_json(verify_json(result))
    else:
        render_verify(result, make_console())
    _exit_on_settings_problems(scenario.routing)
    sys.exit(result.exit_status)


def _verify_budget(
    scenario: Scenario, planner: Planner, as_json: bool, budget_usd: float, at_cap: str | None, tokens: int
) -> None:
    from .budget_run import budget_run_json, render_budget_run, run_budget_verify
    from .render import make_console

    budget: dict[str, Any] = {"session_usd": budget_usd}
    if at_cap is not None:
        budget["at_cap"] = at_cap

    async def run() -> Any:
        return await run_budget_verify(scenario, await planner.routes(), budget=budget, tokens=tokens)

    result = asyncio.run(run())
    if as_json:
        _echo_json(budget_run_json(result))
    else:
        render_budget_run(result, make_console())
    if not result.ok:
        sys.exit(ExitStatus.PROBLEM)


@main.command(short_help="The routing table: tier, model and first fallback per agent.")
@_bundle_option(positional=True)
@_scenario_options(settings_default=True)
@_guarded
@_prices_in_force
def show(bundle: str | None, as_json: bool, **options: Any) -> None:
    """The routing table: every agent's tier, who set it, its model and first fallback."""
    from .render import make_console, render_show, show_json

    scenario, planner = _build(bundle, options)
    routes = asyncio.run(planner.routes())
    if as_json:
        _echo_json(show_json(scenario, routes))
    else:
        render_show(scenario, routes, make_console())
    _exit_on_settings_problems(scenario.routing)


@main.command(short_help="Why an agent gets its model, candidate by candidate.")
@click.argument("agent")
@_bundle_option(positional=False)
@_scenario_options(settings_default=True)
@_guarded
@_prices_in_force
def explain(agent: str, bundle: str | None, as_json: bool, **options: Any) -> None:
    """Why AGENT gets its model: tier, who decided it, and every candidate of its chain.

    AGENT is a name as you delegate to it: git-ops, model-router:git-ops or self.
    """
    from .explain import explain_json, render_explain
    from .render import make_console

    scenario, planner = _build(bundle, options)
    route = asyncio.run(planner.route(planner.find(agent)))
    if as_json:
        _echo_json(explain_json(planner, route))
    else:
        render_explain(planner, route, make_console())
    _exit_on_settings_problems(scenario.routing)


@main.command(short_help="Check a bundle; list every error with file, agent, field.")
@_bundle_option(positional=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_guarded
def validate(bundle: str | None, as_json: bool) -> None:
    """Load and check a bundle (derived bundles too); list every error with file, agent, field."""
    from ..bundle.loader import bundle_file
    from .scenario import default_bundle
    from .validate import unread_lines, validate_bundle, validation_json

    path = bundle_file(bundle if bundle is not None else default_bundle())  # none: bad input
    result = validate_bundle(path)
    if as_json:
        _echo_json(validation_json(result, path))
    else:
        for error in result.errors:
            click.echo(f"error: {error}")
        click.echo(result.summary())
        for line in unread_lines(result.bundle) if result.bundle is not None else ():
            click.echo(line)
    if not result.ok:
        sys.exit(ExitStatus.PROBLEM)
    if result.checked_nothing:
        sys.exit(ExitStatus.INCOMPLETE)


@main.command(short_help="The effective routing settings, each with its source.")
@_bundle_option(positional=False)
@click.option(
    "--settings/--no-settings",
    "use_settings",
    default=True,
    show_default=True,
    help="Apply org/user/project settings files (--no-settings: the bundle's own routing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_guarded
def settings(bundle: str | None, use_settings: bool, as_json: bool) -> None:
    """The effective routing settings, each value with the layer it came from.

    Layers, later wins: the bundle's tiers < org file ($AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS) <
    user ($AMPLIFIER_HOME/settings.yaml, else ~/.amplifier/settings.yaml) < project
    (.amplifier/settings.yaml) < local (.amplifier/settings.local.yaml) < the bundle's module
    config.
    """
    from ..bundle.loader import load_bundle
    from ..errors import SettingsError
    from ..settings import amplifier_home, discover_layers
    from ..settings.options import RouterConfig
    from .explain import render_settings, settings_json
    from .render import make_console
    from .scenario import configured_providers, default_bundle, effective_routing_of

    loaded = load_bundle(bundle if bundle is not None else default_bundle())
    routing, hook_config = effective_routing_of(loaded, use_settings=use_settings)
    mount_settings = RouterConfig.from_mount(hook_config).settings
    layers = discover_layers(mount_config=mount_settings, problems=[])
    refused = {problem.file for problem in routing.problems}
    layers = [
        layer
        for layer in layers
        if layer.source not in refused and (use_settings or layer.name == "mount")
    ]
    home = amplifier_home(env=os.environ, home=Path.home())
    try:
        state_rows = routing.state_values(home, os.environ)
    except ValueError as exc:
        raise SettingsError(str(exc), field="state.backend") from None
    configured = configured_providers(use_settings=use_settings)
    if as_json:
        _echo_json(settings_json(routing, layers, state_rows, configured))
    else:
        render_settings(routing, layers, make_console(), state_rows, configured)
    _exit_on_settings_problems(routing)


@main.command(short_help="Cost per agent, from recorded sessions' events.jsonl.")
@click.argument("path", metavar="[EVENTS.jsonl|DIR]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_guarded
def report(path: str | None, as_json: bool) -> None:
    """Cost per agent from a session's events.jsonl, or from every session below a folder.

    Reads the model_router:cost events the module emits when a root session ends: per agent
    the model that answered, calls, tokens and cost, and what the same tokens would have cost
    on the session's own model. Without PATH: the sessions Amplifier recorded for the current
    folder (~/.amplifier/projects/<this folder as a slug>/sessions), where app-cli keeps them.
    """
    from ..cost.report import load_report, project_sessions, render_report, report_to_json
    from ..errors import UsageError
    from .render import make_console, stripped

    if path is None:
        folder = project_sessions()
        if not folder.is_dir():
            raise UsageError(
                "no sessions recorded for this folder; pass an events.jsonl or a sessions folder",
                file=str(folder),
            )
        path = str(folder)
    loaded = load_report(path)
    if as_json:
        _echo_json(report_to_json(loaded))
    else:
        console = make_console()
        with stripped(console):
            render_report(loaded, console)
    if not loaded.summaries:
        sys.exit(ExitStatus.INCOMPLETE)


if __name__ == "__main__":  # python -m amplifier_module_model_router.cli
    main()
