"""YAML that cannot hurt us: bounded aliases, size and depth; duplicate keys refused.

Bundles, agent files and settings are user input. PyYAML happily builds an alias bomb (a few
lines that expand to billions of nodes when walked), a recursive structure, or silently keeps
the last of two equal keys (a tier defined twice, one lost). Every such problem here becomes a
:class:`BundleError` with the file and the line. Scanning and parsing run in libyaml when it is
installed; composition runs in Python so the limits can be counted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode
from yaml.resolver import Resolver

from .errors import BundleError

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "parse_yaml", "read_document"]

MAX_FILE_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 20_000  # after alias expansion
MAX_DEPTH = 50

_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.MarkedYAMLError):
    """A limit was hit; carries the mark so the message can point at the line."""


class _Bounded:
    """Composer/constructor overrides shared by the libyaml and pure-Python loaders."""

    anchors: dict[str, Any]
    first_line = 1

    def compose_document(self) -> Any:
        self._weight = 0
        self._aliases = 0
        self._depth = 0
        self._sizes: dict[str, int] = {}
        return Composer.compose_document(self)  # type: ignore[arg-type]

    def _add(self, amount: int, mark: Any) -> None:
        self._weight += amount
        if self._weight > MAX_NODES:
            raise _Refused(None, None, f"document expands to more than {MAX_NODES} nodes", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, AliasEvent):
            size = self._sizes.get(event.anchor)
            if event.anchor in self.anchors:
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise _Refused(None, None, f"more than {MAX_ALIASES} aliases", event.start_mark)
                if size is None:
                    raise _Refused(
                        None, None, f"alias *{event.anchor} refers to itself", event.start_mark
                    )
                self._add(size, event.start_mark)
            return Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        before = self._weight
        node = Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
        self._depth -= 1
        self._add(1, event.start_mark)
        if event.anchor is not None:
            self._sizes[event.anchor] = self._weight - before
        return node

    get_single_node = Composer.get_single_node
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise _Refused(
                        None,
                        None,
                        f"duplicate key {key_node.value!r} "
                        f"(first on line {seen[key] + self.first_line})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return SafeConstructor.construct_mapping(self, node, deep=deep)  # type: ignore[arg-type]


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _Loader(_Bounded, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.anchors = {}

else:  # pragma: no cover - exercised only without libyaml

    class _Loader(_Bounded, yaml.SafeLoader):  # type: ignore[misc,no-redef]
        pass


def parse_yaml(text: str, *, file: str | None = None, first_line: int = 1) -> Any:
    """Parse one YAML document; ``first_line`` is the file line the text starts on."""
    loader = _Loader(text)
    loader.first_line = first_line
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = first_line + mark.line if mark is not None else None
        what = "refused YAML" if isinstance(err, _Refused) else "malformed YAML"
        detail = "; ".join(p for p in (err.context, err.problem) if p)
        raise BundleError(f"{what}: {detail}", file=file, line=line) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as err:
        raise BundleError(f"malformed YAML: {err}", file=file) from None
    finally:
        loader.dispose()


def read_document(path: Path, *, display: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, markdown body) of a ``.md`` file; a ``.yaml`` file is all frontmatter."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BundleError(f"file is {size} bytes; the limit is {MAX_FILE_BYTES}", file=display)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BundleError(f"cannot read file: {exc.strerror or exc}", file=display) from None
    except UnicodeDecodeError as exc:
        raise BundleError(f"not UTF-8 text (byte {exc.start})", file=display) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        front_text, body, first_line = text, "", 1
    else:
        opening = _OPEN.match(text)
        if opening is None:
            raise BundleError(
                "missing YAML frontmatter (the file must start with a '---' line)",
                file=display,
                line=1,
            )
        closing = _CLOSE.search(text, opening.end())
        if closing is None:
            raise BundleError("frontmatter is not closed by a '---' line", file=display, line=1)
        front_text, body, first_line = (
            text[opening.end() : closing.start()],
            text[closing.end() :],
            2,
        )
    data = parse_yaml(front_text, file=display, first_line=first_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BundleError(
            f"frontmatter must be a mapping, got {type(data).__name__}",
            file=display,
            line=first_line,
        )
    return data, body.lstrip("\r\n")
