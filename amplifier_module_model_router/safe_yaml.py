"""YAML that cannot hurt us: bounded size, alias expansion and depth; duplicate keys refused.

Bundles, agent files and settings are user input. PyYAML happily builds an alias bomb (a few
lines that expand to billions of nodes when walked), a recursive structure, or silently keeps
the last of two equal keys (a tier defined twice, one lost). Every such problem here becomes a
:class:`InputError` with the file and the line. Only the safe YAML types are built.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .bounded_read import MAX_FILE_BYTES, read_text
from .errors import InputError

__all__ = [
    "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "parse_yaml", "read_document", "split_document",
]

MAX_NODES = 20_000  # after alias expansion
MAX_DEPTH = 50

_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Past this an int cannot become a float (OverflowError), and past 4,300 digits repr() raises:
# no setting, bundle or catalog needs such a number, so the scalar is refused where it stands.
_MAX_INT = int(sys.float_info.max)
# libyaml scans, parses and composes in C (and caps nesting at 1000 levels on its own).
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Refused(yaml.MarkedYAMLError):
    """A limit was hit; carries the mark so the message can point at the line."""


class _Loader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """libyaml's safe loader, refusing duplicate keys (YAML would keep the last silently)."""

    first_line = 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, MappingNode):
            seen: dict[tuple[str, Any], int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    first = seen[key] + self.first_line
                    raise _Refused(
                        None,
                        None,
                        f"duplicate key {key_node.value!r} (first on line {first})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _guarded(construct: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A scalar constructor whose bad values (month 13, a 5,000-digit int) name their line."""

    def construct_scalar(loader: Any, node: Any) -> Any:
        what = node.tag.rsplit(":", 1)[-1]
        try:
            value = construct(loader, node)
        except (ValueError, OverflowError) as err:
            raise _Refused(None, None, f"bad {what}: {err}", node.start_mark) from None
        if isinstance(value, int) and abs(value) > _MAX_INT:
            raise _Refused(None, None, "integer too large (more than 308 digits)", node.start_mark)
        return value

    return construct_scalar


for _tag, _construct in (
    ("tag:yaml.org,2002:int", _Loader.construct_yaml_int),
    ("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp),
):
    _Loader.add_constructor(_tag, _guarded(_construct))


def _check_limits(root: Node) -> None:
    """Walk the composed graph as a consumer would, aliases expanded, within the budgets.

    libyaml composes an alias as a second reference to the same node, so composing is cheap
    even for a bomb; the cost appears in whoever walks the result. This walk stops at
    ``MAX_NODES`` visits, so its own cost is bounded too.
    """
    visits = 0
    active: set[int] = set()  # nodes on the current path: meeting one again = recursion
    stack: list[tuple[Node, int] | int] = [(root, 1)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            active.discard(item)
            continue
        node, depth = item
        visits += 1
        if visits > MAX_NODES:
            problem = f"document expands to more than {MAX_NODES} nodes (alias bomb?)"
            raise _Refused(None, None, problem, node.start_mark)
        if depth > MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
        if isinstance(node, ScalarNode):
            continue
        if id(node) in active:
            raise _Refused(None, None, "recursive alias (a node contains itself)", node.start_mark)
        active.add(id(node))
        stack.append(id(node))
        children = (
            node.value if isinstance(node, SequenceNode) else [n for kv in node.value for n in kv]
        )
        stack.extend((child, depth + 1) for child in children)


def parse_yaml(text: str, *, file: str | None = None, first_line: int = 1) -> Any:
    """Parse one YAML document; ``first_line`` is the file line the text starts on."""
    loader = _Loader(text)
    loader.first_line = first_line
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_limits(root)
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = first_line + mark.line if mark is not None else None
        what = "refused YAML" if isinstance(err, _Refused) else "malformed YAML"
        detail = "; ".join(p for p in (err.context, err.problem) if p)
        raise InputError(f"{what}: {detail}", file=file, line=line) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as err:
        raise InputError(f"malformed YAML: {err}", file=file) from None
    finally:
        loader.dispose()


def read_document(path: Path, *, display: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, markdown body) of a ``.md`` file; a ``.yaml`` file is all frontmatter.

    The read is bounded (:func:`bounded_read.read_text`): a regular file of at most
    ``MAX_FILE_BYTES``, never a device or a FIFO.
    """
    return split_document(read_text(path, display=display), suffix=path.suffix, display=display)


def split_document(text: str, *, suffix: str, display: str) -> tuple[dict[str, Any], str]:
    """:func:`read_document` on text already read (``suffix`` says whether it is YAML)."""
    if suffix.lower() in (".yaml", ".yml"):
        front_text, body, first_line = text, "", 1
    else:
        opening = _OPEN.match(text)
        if opening is None:
            raise InputError(
                "missing YAML frontmatter (the file must start with a '---' line)",
                file=display,
                line=1,
            )
        closing = _CLOSE.search(text, opening.end())
        if closing is None:
            raise InputError("frontmatter is not closed by a '---' line", file=display, line=1)
        front_text, body, first_line = (
            text[opening.end() : closing.start()],
            text[closing.end() :],
            2,
        )
    data = parse_yaml(front_text, file=display, first_line=first_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(
            f"frontmatter must be a mapping, got {type(data).__name__}",
            file=display,
            line=first_line,
        )
    return data, body.lstrip("\r\n")
