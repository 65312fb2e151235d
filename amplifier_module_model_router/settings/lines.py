"""Where each key of a settings file was written, so errors can say ``settings.yaml:14``.

Safety (size, alias bombs, depth, duplicate keys) is :mod:`..safe_yaml`'s job and has run
before this: here the already-accepted text is composed once more and walked without
expanding aliases (each node is visited once), which is linear in the file's size.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def key_lines(text: str) -> dict[str, int]:
    """Dotted path from the document root (``model_router.tiers.fast[0].model``) -> 1-based line."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except (yaml.YAMLError, RecursionError):
        return {}
    lines: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = f"{path}.{key.value}" if path else key.value
                    lines.setdefault(child, key.start_mark.line + 1)
                    stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines.setdefault(child, item.start_mark.line + 1)
                stack.append((item, child))
    return lines


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """Line of ``path`` or of its nearest recorded ancestor (``a.b[2].c`` -> ``a.b[2]`` -> ...)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return None
        path = path[:cut]
    return None
