"""README says what the commands do (issue 13.13).

Its example outputs are regenerated here and compared line by line (they are deterministic:
offline providers, a dated catalog, a recorded events file), and every option it gives a
command, in a command line or in prose, is one that command takes.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from test_cli import in_process

from amplifier_module_model_router.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = ("verify", "show", "explain", "validate", "settings", "report")

EXAMPLES = {
    "verify": ("verify",),
    "explain": ("explain", "git-ops", "--down", "anthropic"),
    "report": ("report", "tests/data/events/sessions"),
}
"""README's example outputs and the command lines that print them (from the repository root)."""


def blocks() -> list[str]:
    """The text of every fenced block of README."""
    found: list[str] = []
    current: list[str] | None = None
    for line in README.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def example(first_line: str) -> str:
    found = [b for b in blocks() if b.startswith(first_line) or f"\n{first_line}" in b]
    assert len(found) == 1, f"one README example shows {first_line!r}"
    return found[0]


def options_of(command: str) -> set[str]:
    cmd = main.commands[command]
    options = [p for p in cmd.params if isinstance(p, click.Option)]
    return {opt for p in options for opt in p.opts + p.secondary_opts}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_readme_example_output_is_what_the_command_prints(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)
    out = in_process(*EXAMPLES[name]).out
    first = out.splitlines()[0]
    shown = example(first)
    assert shown.rstrip("\n").splitlines() == out.rstrip("\n").splitlines()


def test_every_option_the_readme_gives_a_command_is_one_it_takes() -> None:
    prose = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)
    claims: list[tuple[str, str, str]] = []
    for sentence in re.split(r"(?<=[.;])\s+|\n\n", prose):  # prose: `show` ... `--flag`
        flags = re.findall(r"`(--[a-z][a-z-]*)", sentence)
        named = re.findall(r"`(?:amplifier-model-router )?(" + "|".join(COMMANDS) + r")`", sentence)
        claims += [(command, flag, sentence) for command in named for flag in flags]
    lines = re.findall(r"amplifier-model-router (" + "|".join(COMMANDS) + r")\b([^\n`#]*)", README)
    flag = re.compile(r"(?<!\S)--?[a-z][a-z-]*")
    claims += [(command, f, rest) for command, rest in lines for f in flag.findall(rest)]
    assert claims
    wrong = [(c, f, where[:80]) for c, f, where in claims if f not in options_of(c)]
    assert wrong == [], "\n".join(map(str, wrong))
