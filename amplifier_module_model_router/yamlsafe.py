"""Bounded YAML reading for files users and orgs write by hand.

``yaml.safe_load`` refuses code execution but not cost: an alias "bomb" (nine anchors each
referencing the previous one nine times) composes instantly and then expands to a billion
nodes in whatever walks the result. So we compose the node graph ourselves and build plain
Python values with a budget on *expanded* nodes and on depth, refuse recursive aliases, and
cap the file size before parsing. Along the way we record the line of every key, so errors
can point at ``settings.yaml:14`` rather than just a dotted path.

Only the plain YAML types are produced (mappings, sequences, scalars); other tags on
collections (``!!set``, ``!!omap``, custom ones) are refused, duplicate keys are refused,
and merge keys (``<<: *base``) work as in YAML 1.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BundleError

MAX_BYTES = 1_000_000
"""Largest file read. Settings files are a few KB; this only stops accidents and attacks."""

MAX_NODES = 50_000
"""Most nodes built after alias expansion (per document, or per section when one is asked)."""

MAX_DEPTH = 64
"""Deepest nesting built. Settings need about six levels."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml also caps nesting at 1000
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Plain values plus where each key was written.

    ``lines`` maps a dotted field path (``model_router.tiers.fast[0].model``) to its 1-based
    line; use :func:`line_of` to find the nearest recorded ancestor of a path.
    """

    data: Any
    lines: Mapping[str, int] = field(default_factory=dict)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 file, refusing oversized ones without reading them whole."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except IsADirectoryError:
        raise BundleError("is a directory, expected a YAML file", file=str(path)) from None
    except OSError as err:
        raise BundleError(f"cannot read: {err.strerror or err}", file=str(path)) from None
    if len(raw) > max_bytes:
        raise BundleError(f"file is larger than {max_bytes} bytes", file=str(path))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BundleError(f"not UTF-8 text (byte {err.start})", file=str(path)) from None


def load_yaml(
    text: str,
    *,
    source: str,
    section: str | None = None,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
) -> YamlDocument:
    """Parse one YAML document within budgets; raises :class:`BundleError` with the line.

    With ``section``, the document must be a mapping and only that key's value is built
    (``data`` is that value, or ``None`` when the key is absent): the rest of a shared file
    such as Amplifier's ``settings.yaml`` belongs to someone else and is never walked.
    Paths in ``lines`` stay relative to the document root either way.
    """
    if len(text) > MAX_BYTES:
        raise BundleError(f"document is larger than {MAX_BYTES} characters", file=source)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        reason = f"invalid YAML: {err.problem or err.context or 'syntax error'}"
        raise BundleError(reason, file=source, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise BundleError(f"invalid YAML: {err}", file=source) from None
    except RecursionError:
        raise BundleError("invalid YAML: nested too deeply", file=source) from None
    builder = _Builder(source, max_nodes, max_depth)
    if root is None:
        return YamlDocument(None, {})
    if section is None:
        return YamlDocument(builder.build(root, ""), builder.lines)
    if not isinstance(root, yaml.MappingNode) or root.tag != _MAP:
        raise BundleError(
            "expected a mapping at the top of the file", file=source, line=root.start_mark.line + 1
        )
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == section:
            builder.lines[section] = key_node.start_mark.line + 1
            return YamlDocument(builder.build(value_node, section), builder.lines)
    return YamlDocument(None, {})


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """Line of ``path`` or of its nearest recorded ancestor (``a.b[2].c`` -> ``a.b[2]`` -> ...)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path) if path else None


class _Builder:
    """Turns composed nodes into plain values, expanding aliases within the budgets."""

    def __init__(self, source: str, max_nodes: int, max_depth: int) -> None:
        self.source = source
        self.budget = max_nodes
        self.max_depth = max_depth
        self.lines: dict[str, int] = {}
        self._active: set[int] = set()  # nodes on the current path: revisiting one = recursion
        self._scalars = yaml.constructor.SafeConstructor()

    def _fail(self, reason: str, node: yaml.Node) -> BundleError:
        return BundleError(reason, file=self.source, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node, path: str, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._fail("too many YAML nodes after expanding aliases", node)
        if depth > self.max_depth:
            raise self._fail(f"nested deeper than {self.max_depth} levels", node)
        if id(node) in self._active:
            raise self._fail("recursive alias (a node that contains itself)", node)
        if isinstance(node, yaml.ScalarNode):
            try:
                return self._scalars.construct_object(node)
            except yaml.YAMLError as err:
                raise self._fail(f"bad value: {getattr(err, 'problem', None) or err}", node) from None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
                return [
                    self.build(item, self._at(f"{path}[{index}]", item), depth + 1)
                    for index, item in enumerate(node.value)
                ]
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
                return self._mapping(node, path, depth)
            raise self._fail(f"unsupported YAML tag {node.tag!r}", node)
        finally:
            self._active.discard(id(node))

    def _at(self, path: str, node: yaml.Node) -> str:
        self.lines.setdefault(path, node.start_mark.line + 1)
        return path

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[Any, Any]:
        explicit: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._merge_into(merged, value_node, path, depth)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail("mapping keys must be plain values", key_node)
            key = self.build(key_node, path, depth + 1)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise self._fail(f"unsupported key type {type(key).__name__}", key_node)
            if key in explicit:
                raise self._fail(f"duplicate key {key!r}", key_node)
            child = f"{path}.{key}" if path else str(key)
            self._at(child, key_node)
            explicit[key] = self.build(value_node, child, depth + 1)
        return {**merged, **explicit} if merged else explicit

    def _merge_into(self, merged: dict[Any, Any], node: yaml.Node, path: str, depth: int) -> None:
        """``<<: *a`` or ``<<: [*a, *b]``: earlier sources win, explicit keys beat all."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            value = self.build(source, path, depth + 1)
            if not isinstance(value, dict):
                raise self._fail("a merge key ('<<') needs a mapping or a list of mappings", source)
            for key, item in value.items():
                merged.setdefault(key, item)
