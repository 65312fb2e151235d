"""Fuzzed bundles, agent files, settings layers, catalog files and raw YAML.

Every input is user-written text; the contract for all of them is the same: success, or one
:class:`InputError` whose message starts with the file it is about. Never another exception,
never a hang, never a half-applied result. Inputs are generated (structured values dumped as
YAML) and mutated (wrong types, huge numbers, deep nesting, unicode, duplicate keys, anchors,
aliases and alias bombs, tags, binary junk, truncation).

Deterministic (derandomized, no example database). Each example runs under a watchdog: a
Python-level hang fails the example, a hang inside C code ends the run with a traceback.
"""

from __future__ import annotations

import copy
import faulthandler
import itertools
import signal
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from session_kit import BUNDLE

from amplifier_module_model_router import safe_yaml
from amplifier_module_model_router.bundle.loader import load_bundle
from amplifier_module_model_router.errors import InputError
from amplifier_module_model_router.resolve.globs import glob_matches
from amplifier_module_model_router.resolve.snapshot import load_catalog
from amplifier_module_model_router.session.mount import build_router
from amplifier_module_model_router.settings import ORG_ENV, discover_layers, effective_routing
from amplifier_module_model_router.settings.options import RouterConfig

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=2),
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WATCHDOG_S = 10.0
T = TypeVar("T")


class Hang(BaseException):
    """An example ran past the watchdog (BaseException: code under test cannot swallow it)."""


@contextmanager
def watchdog(seconds: float = WATCHDOG_S) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"example still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 3, exit=True)  # stuck in C: end with a trace
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


def _count(label: str) -> None:
    if currently_in_test_context():  # statistics: pytest --hypothesis-show-statistics
        event(label)


def outcome(action: Callable[[], T], *files: str) -> T | InputError:
    """Run ``action``: its value, or the InputError it raised, which must name one of ``files``."""
    with watchdog():
        try:
            value = action()
            _count("accepted")
            return value
        except InputError as err:
            _count("refused")
            assert err.file, f"InputError without a file: {err}"
            assert any(err.file == f or err.file.endswith("/" + f) for f in files), (err.file, files)
            assert str(err).startswith(err.file), str(err)
            assert len(str(err)) <= len(err.file) + 1600, f"a {len(str(err))}-character message"
            return err


# -- generated values and mutated text -------------------------------------------------------

WORDS = ("anthropic", "openai", "gemini", "github-copilot", "budget", "strong", "base", "inherit",
         "claude-*", "gpt-[0-9]*", "claude-[", "*", "model-router", "git-ops", "provider", "model",
         "config", "api_key", "tiers", "agents", "meta", "model_tier", "include", "hooks",
         # path-like strings for includes and agent names
         "../base/bundle.md", "~nosuchuser-fuzz/bundle.md", "~/x", "file:///nonexistent", "a" * 300,
         "bad\x00name", "git+https://example.com/x", "ns:" + "b" * 300, "/", ".", "..")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400), 0, -1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.just("x" * 20_000),
)
keys = st.one_of(st.sampled_from(WORDS), st.text(st.characters(exclude_categories=("Cs",)), max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw, doc: Any) -> Any:
    """``doc`` with one to three structural edits: replace, delete, add a key, wrap in a list."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                doc = draw(values)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        op = draw(st.sampled_from(("replace", "replace", "delete", "add", "wrap")))
        if op == "replace":
            parent[last] = draw(values)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][draw(keys)] = draw(values)
        elif op == "wrap":
            parent[last] = [parent[last]]
    return doc


def _dump(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):  # values PyYAML cannot write: write junk instead
        return "{unwritable: [\n"


def alias_bomb(width: int, depth: int) -> str:
    lines = [f"b0: &b0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"b{level}: &b{level} [{', '.join([f'*b{level - 1}'] * width)}]")
    return "\n".join(lines)


INJECTIONS = (
    "x: &a [*a]",  # recursive alias
    "x: &a {k: *a}",
    "x: " + "[" * 60 + "]" * 60,  # deeper than MAX_DEPTH
    "x: " + "[" * 2000 + "]" * 2000,  # deeper than libyaml's own limit
    "x: " + "{a: " * 70 + "1" + "}" * 70,
    "x: !!python/object/apply:os.system ['true']",
    "x: !custom {a: 1}",
    "x: 0x" + "f" * 5000,  # an int with > 4,300 digits: repr() of it raises
    "x: " + "9" * 500,  # does not fit a float
    "x: 1" + "0" * 5000,  # int() refuses > 4,300 digits
    "x: .nan",
    "x: -.inf",
    "x: 2026-13-45",
    "x: 2026-06-01",
    "x: <<: *nowhere",
    "base: &base {provider: anthropic, model: claude-*}\nx: {<<: *base, model: gpt-*}",
    "? [a, b]\n: c",
    "? {a: 1}\n: c",
    "x: |\n  \u2028\u0085 text",
    "x: 'unterminated",
    "\t- tab",
)


@st.composite
def mutated_text(draw, text: str) -> bytes:
    """Text edits on a YAML/markdown file: duplicate lines, injections, bombs, junk bytes."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(("dup", "inject", "bomb", "junk", "drop", "indent")))
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "dup" and lines:
            lines.insert(at, lines[at])  # often a duplicate key
        elif op == "inject":
            lines.insert(at, draw(st.sampled_from(INJECTIONS)))
        elif op == "bomb":
            lines.insert(at, alias_bomb(draw(st.integers(2, 12)), draw(st.integers(2, 9))))
        elif op == "junk":
            lines.insert(at, draw(st.text(max_size=20).filter(lambda s: "\ud800" > s or True)))
        elif op == "drop" and lines:
            del lines[at]
        elif op == "indent" and lines:
            lines[at] = draw(st.sampled_from(("  ", "\t", "    - "))) + lines[at]
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # truncated
    if draw(st.integers(0, 9)) == 0:
        junk = draw(st.binary(min_size=1, max_size=16))
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at:]  # binary junk, maybe not UTF-8
    if draw(st.integers(0, 19)) == 0:
        data = b"\xef\xbb\xbf" + data  # BOM
    return data


def document(front: Any, body: str = "") -> str:
    return f"---\n{_dump(front)}---\n{body}"


# -- raw YAML ----------------------------------------------------------------------------------


def _expanded_size(value: Any, budget: int) -> int:
    """Nodes a consumer walking ``value`` visits (aliases expanded), stopping past ``budget``."""
    seen, stack = 0, [value]
    while stack and seen <= budget:
        item = stack.pop()
        seen += 1
        if isinstance(item, Mapping):
            stack.extend(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, list):
            stack.extend(item)
    return seen


@FUZZ
@given(st.one_of(values.map(_dump), values.map(_dump).flatmap(mutated_text)))
def test_parse_yaml_returns_bounded_data_or_a_bundle_error(text: Any) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    result = outcome(lambda: safe_yaml.parse_yaml(text, file="fuzz.yaml"), "fuzz.yaml")
    if not isinstance(result, InputError):
        assert _expanded_size(result, safe_yaml.MAX_NODES) <= safe_yaml.MAX_NODES


@pytest.mark.parametrize(("width", "depth"), [(10, 9), (3, 40), (2, 200), (1000, 2)])
def test_alias_bombs_are_refused_before_anything_walks_them(width: int, depth: int) -> None:
    err = outcome(lambda: safe_yaml.parse_yaml(alias_bomb(width, depth), file="bomb.yaml"), "bomb.yaml")
    assert isinstance(err, InputError) and "refused" in str(err)


# -- the loader: bundle.md, includes, agent files ----------------------------------------------

BASE_BUNDLE = {
    "bundle": {"name": "base", "version": "1.0.0", "description": "fuzz base"},
    "hooks": [{"module": "model-router", "config": {
        "tiers": {
            "budget": [{"provider": "anthropic", "model": "claude-haiku-*"},
                       {"provider": "openai", "model": "gpt-5-mini"}],
            "strong": [{"provider": "anthropic", "model": "claude-sonnet-*"}],
        },
        "lookup_timeout": 5,
    }}],
    "agents": {"include": ["base:alpha", "base:beta"]},
}
DERIVED_BUNDLE = {
    "bundle": {"name": "derived", "version": "1.0.0", "description": "fuzz derived"},
    "includes": [{"bundle": "file://@TREE@/base/bundle.md"}],  # write_tree fills in @TREE@
    "hooks": [{"module": "model-router", "config": {
        "tiers": {"strong": [{"provider": "openai", "model": "gpt-[0-9].[0-9]"}]},
    }}],
    "agents": {"include": ["derived:gamma"], "base:beta": {"model_tier": "budget"}},
}
AGENTS = {
    "alpha": {"meta": {"name": "alpha", "description": "first", "model_tier": "budget"},
              "provider_preferences": [{"provider": "anthropic", "model": "claude-haiku-*"}]},
    "beta": {"meta": {"name": "beta", "description": "second", "model_tier": "strong"},
             "tools": [{"module": "tool-bash"}]},
    "gamma": {"meta": {"name": "gamma", "description": "third"},
              "provider_preferences": [{"provider": "gemini", "model": "gemini-*-pro"}]},
}
FILES = {
    "base/bundle.md": document(BASE_BUNDLE, "# Base\n"),
    "derived/bundle.md": document(DERIVED_BUNDLE, "# Derived\n"),
    "base/agents/alpha.md": document(AGENTS["alpha"], "Alpha instructions.\n"),
    "base/agents/beta.md": document(AGENTS["beta"], "Beta instructions.\n"),
    "derived/agents/gamma.md": document(AGENTS["gamma"], "Gamma instructions.\n"),
}
STRUCTURE = {
    "base/bundle.md": BASE_BUNDLE,
    "derived/bundle.md": DERIVED_BUNDLE,
    "base/agents/alpha.md": AGENTS["alpha"],
    "base/agents/beta.md": AGENTS["beta"],
    "derived/agents/gamma.md": AGENTS["gamma"],
}
_WORKDIR = Path(tempfile.mkdtemp(prefix="model-router-fuzz-"))
_COUNTER = itertools.count()


def write_tree(files: Mapping[str, str | bytes]) -> Path:
    root = _WORKDIR / f"tree{next(_COUNTER)}"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):  # includes name the tree absolutely, as foundation needs
            content = content.replace("@TREE@", str(root))
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def summary(bundle: Any) -> Any:
    """What a load produced, comparable across loads."""
    return (
        bundle.name,
        {name: [p.to_dict() for p in chain] for name, chain in bundle.tiers.items()},
        {name: (a.tier, [p.to_dict() for p in a.preferences], a.instruction, dict(a.meta))
         for name, a in bundle.agents.items()},
        copy.deepcopy(dict(bundle.module_config)),
    )


PRISTINE = summary(load_bundle(write_tree(FILES) / "derived"))


@st.composite
def mutated_trees(draw) -> tuple[dict[str, str | bytes], str]:
    files: dict[str, str | bytes] = dict(FILES)
    target = draw(st.sampled_from(sorted(FILES)))
    if draw(st.booleans()):
        body = draw(st.sampled_from(("", "Body.\n", "---\nnot: frontmatter\n---\n", "\x00\xff")))
        files[target] = document(draw(mutated(STRUCTURE[target])), body)
    else:
        files[target] = draw(mutated_text(FILES[target]))
    return files, target


def check_bundle(bundle: Any) -> None:
    """A loaded bundle is whole: every agent on an existing tier carries that tier's chain."""
    config_tiers = bundle.module_config["tiers"]
    assert config_tiers == {n: [p.to_dict() for p in c] for n, c in bundle.tiers.items()}
    for agent in bundle.agents.values():
        if agent.tier is not None:
            assert agent.preferences == bundle.tiers[agent.tier]
        assert isinstance(agent.description, str)


@FUZZ
@given(mutated_trees())
def test_mutated_bundles_load_whole_or_fail_naming_the_file(case: tuple[dict, str]) -> None:
    files, target = case
    root = write_tree(files)
    first = outcome(lambda: load_bundle(root / "derived"), *FILES)
    again = outcome(lambda: load_bundle(root / "derived"), *FILES)  # from the parse cache
    if isinstance(first, InputError):
        assert isinstance(again, InputError) and str(again) == str(first)
    else:
        check_bundle(first)
        assert summary(again) == summary(first)
    # Nothing leaked into shared state: the untouched tree still loads exactly as before.
    assert summary(load_bundle(write_tree(FILES) / "derived")) == PRISTINE


@FUZZ
@given(mutated_trees())
def test_the_mount_path_accepts_a_loaded_bundle_or_refuses_it_clearly(case: tuple[dict, str]) -> None:
    """A bundle the loader accepts mounts, or the mount fails with a InputError naming the
    mount plan (the module's config arrives there as plain values)."""
    files, _ = case
    loaded = outcome(lambda: load_bundle(write_tree(files) / "derived"), *FILES)
    if isinstance(loaded, InputError):
        return
    config = {**dict(loaded.module_config), "use_settings_files": False}
    outcome(lambda: build_router(RouterConfig.from_mount(config)), "mount plan")


MOUNT_KEYS = ("tiers", "cache_ttl", "lookup_timeout", "failure_cooldown", "strict", "prefetch", "failover",
              "use_settings_files", "provider_order", "disabled_providers", "agents", "default_tier",
              "agent_patterns")


MOUNT_CONFIG = {
    "tiers": BASE_BUNDLE["hooks"][0]["config"]["tiers"],
    "lookup_timeout": 5,
    "cache_ttl": 60.5,
    "strict": False,
    "provider_order": ["openai"],
    "agents": {"alpha": "strong"},
    "agent_patterns": {"b*": "budget"},
    "default_tier": "budget",
}


@FUZZ
@given(st.one_of(st.dictionaries(st.one_of(st.sampled_from(MOUNT_KEYS), keys), values, max_size=5),
                 st.just(MOUNT_CONFIG).flatmap(mutated)))
def test_mount_config_of_any_shape_builds_a_router_or_a_clear_error(config: Any) -> None:
    """The module's config as an app hands it over (plain values, not necessarily from YAML)."""
    if isinstance(config, dict):
        config = {**config, "use_settings_files": False}
    before = copy.deepcopy(config)
    outcome(lambda: build_router(RouterConfig.from_mount(config)), "mount plan")
    assert config == before


# -- settings layers ---------------------------------------------------------------------------

SETTINGS = {
    "provider_order": ["openai", "anthropic"],
    "disabled_providers": ["github-copilot"],
    "tiers": {"strong": ["base", {"provider": "gemini", "model": "gemini-*-pro"}],
              "fast": [{"provider": "openai", "model": "gpt-5-nano"}]},
    "agents": {"git-ops": "fast", "model-router:explorer": "inherit"},
    "agent_patterns": {"recipes:*": "budget"},
    "default_tier": "strong",
    "strict": False,
}
LAYER_FILES = ("org.yaml", "home/.amplifier/settings.yaml", "work/.amplifier/settings.yaml",
               "work/.amplifier/settings.local.yaml")


@st.composite
def settings_trees(draw) -> dict[str, bytes]:
    files = {}
    for name in LAYER_FILES:
        if not draw(st.booleans()):
            continue
        section = draw(mutated(SETTINGS)) if draw(st.booleans()) else copy.deepcopy(SETTINGS)
        doc = section if name == "org.yaml" and draw(st.booleans()) else {"model_router": section}
        text = _dump(doc)
        files[name] = draw(mutated_text(text)) if draw(st.booleans()) else text.encode()
    return files


def _snapshot_tiers() -> Any:
    return {name: [p.to_dict() for p in chain] for name, chain in BUNDLE.tiers.items()}


BUNDLE_TIERS = _snapshot_tiers()


@FUZZ
@given(settings_trees(), st.one_of(st.none(), st.just(SETTINGS).flatmap(mutated)))
def test_settings_layers_apply_whole_or_fail_naming_the_file(files: dict[str, bytes], mount: Any) -> None:
    root = write_tree(files)
    (root / "work").mkdir(parents=True, exist_ok=True)
    env = {ORG_ENV: str(root / "org.yaml")} if "org.yaml" in files else {}
    env["AMPLIFIER_HOME"] = str(root / "home" / ".amplifier")
    mount_config = None
    if isinstance(mount, dict):
        mount_config = {k: v for k, v in mount.items() if k != "tiers"}
    named = [str(root / f) for f in files] + ["mount plan"]

    def apply() -> Any:
        layers = discover_layers(cwd=root / "work", env=env, home=root / "home", mount_config=mount_config)
        values = copy.deepcopy([layer.values for layer in layers])
        routing = effective_routing(BUNDLE.tiers, layers)
        assert [layer.values for layer in layers] == values  # layers are read, never changed
        return routing

    routing = outcome(apply, *named)
    assert _snapshot_tiers() == BUNDLE_TIERS  # the bundle's tiers are never touched
    if isinstance(routing, InputError):
        return
    for tier, chain in routing.tiers.items():
        assert chain, f"tier {tier} ended up empty"
    for agent in BUNDLE.agents.values():
        tier, why = routing.tier_for(agent.key, agent.tier)
        assert tier is None or tier in routing.tiers, (agent.key, tier, why)


# -- catalog snapshot files --------------------------------------------------------------------

CATALOG = {
    "date": "2026-06-01",
    "currency": "USD",
    "providers": {
        "anthropic": {"default_model": "claude-haiku-4-5", "models": [
            {"id": "claude-haiku-4-5", "context_window": 200000, "max_output_tokens": 64000,
             "capabilities": ["tools"], "pricing": {"input": 1.0, "output": 5.0, "cached_input": 0.1}},
            {"id": "claude-haiku-latest", "context_window": 200000, "max_output_tokens": 64000,
             "alias_of": "claude-haiku-4-5"},
        ]},
        "openai": {"models": [{"id": "gpt-5.5", "context_window": 400000, "max_output_tokens": 128000}]},
    },
}


@FUZZ
@given(st.one_of(st.just(CATALOG).flatmap(mutated).map(lambda d: _dump(d).encode()),
                 st.just(_dump(CATALOG)).flatmap(mutated_text)))
def test_catalog_files_load_whole_or_fail_naming_the_file(data: bytes) -> None:
    path = write_tree({"catalog.yaml": data}) / "catalog.yaml"
    snapshot = outcome(lambda: load_catalog(path), "catalog.yaml")
    if isinstance(snapshot, InputError):
        return
    for provider, catalog_models in snapshot.providers.items():
        assert catalog_models, provider
        assert snapshot.default_model(provider) in {m.id for m in catalog_models}


# -- every hostile value, in every slot of every kind of file ---------------------------------


def flow_bomb(width: int, depth: int) -> str:
    """An alias bomb as one flow value: its last element expands to width**depth scalars."""
    levels = [f"&b0 [{', '.join(['lol'] * width)}]"]
    levels += [f"&b{n} [{', '.join([f'*b{n - 1}'] * width)}]" for n in range(1, depth)]
    return f"[{', '.join(levels)}]"


HOSTILE_VALUES = (
    "&r [*r]",  # recursive
    "&r {k: *r}",
    "[" * 60 + "]" * 60,  # deeper than MAX_DEPTH
    "[" * 2000 + "]" * 2000,  # deeper than the Python stack
    "!!python/object/apply:os.system ['true']",
    "!custom {a: 1}",
    "0x" + "f" * 5000,  # an int with > 4,300 digits: repr() of it raises
    "1" + "0" * 5000,  # int() refuses > 4,300 digits
    "9" * 400,  # does not fit a float
    ".nan",
    "-.inf",
    "2026-13-45",  # a timestamp with month 13
    "*nowhere",
    "{<<: *nowhere}",
    "'unterminated",
    "x" * 20_000,
    flow_bomb(10, 9),
    flow_bomb(3, 40),
)
SLOTS: dict[str, tuple[str, Any, tuple[tuple, ...]]] = {
    "bundle": ("derived/bundle.md", DERIVED_BUNDLE, (
        ("bundle", "name"), ("bundle", "version"), ("includes", 0), ("hooks", 0, "config", "tiers", "strong", 0, "model"),
        ("hooks", 0, "config", "lookup_timeout"), ("agents", "include", 0), ("agents", "base:beta", "model_tier"),
    )),
    "agent": ("base/agents/alpha.md", AGENTS["alpha"], (
        ("meta", "name"), ("meta", "description"), ("meta", "model_tier"),
        ("provider_preferences", 0, "model"), ("provider_preferences", 0, "config"),
    )),
    "catalog": ("catalog.yaml", CATALOG, (
        ("date",), ("currency",), ("providers", "anthropic", "default_model"),
        ("providers", "anthropic", "models", 0, "id"), ("providers", "anthropic", "models", 0, "context_window"),
        ("providers", "anthropic", "models", 0, "pricing", "input"), ("providers", "anthropic", "models", 0, "capabilities"),
    )),
    "settings": ("work/.amplifier/settings.yaml", {"model_router": SETTINGS}, (
        ("model_router", "provider_order", 0), ("model_router", "tiers", "fast", 0, "model"),
        ("model_router", "agents", "git-ops"), ("model_router", "default_tier"), ("model_router", "strict"),
        ("model_router", "disabled_providers"),
    )),
}
PLACEHOLDER = "HOSTILE_VALUE_HERE"


def _load_kind(kind: str, root: Path) -> Any:
    if kind == "catalog":
        return load_catalog(root / "catalog.yaml")
    if kind == "settings":
        return effective_routing(BUNDLE.tiers, discover_layers(cwd=root / "work", env={}, home=root))
    bundle = load_bundle(root / "derived")
    return build_router(RouterConfig.from_mount({**dict(bundle.module_config), "use_settings_files": False}))


def _hostile_file(kind: str, slot: tuple, value: str) -> tuple[str, dict[str, str | bytes]]:
    target, structure, _ = SLOTS[kind]
    doc = copy.deepcopy(structure)
    parent = doc
    for step in slot[:-1]:
        parent = parent[step]
    parent[slot[-1]] = PLACEHOLDER
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=True, width=10**6)
    text = text.replace(PLACEHOLDER, value)
    files: dict[str, str | bytes] = dict(FILES)
    files["catalog.yaml"] = _dump(CATALOG)
    files["work/.amplifier/settings.yaml"] = _dump({"model_router": SETTINGS})
    files[target] = f"---\n{text}---\nBody.\n" if target.endswith(".md") else text
    return target, files


@pytest.mark.parametrize("kind", sorted(SLOTS))
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: v[:24])
def test_a_hostile_value_in_any_slot_is_a_bundle_error_or_harmless(kind: str, value: str) -> None:
    for slot in SLOTS[kind][2]:
        target, files = _hostile_file(kind, slot, value)
        outcome(lambda: _load_kind(kind, write_tree(files)), target, "mount plan")


# -- regressions: each found by the fuzzing above ----------------------------------------------


@pytest.mark.parametrize("include", ["~nosuchuser-fuzz/bundle.md", "a" * 5000, "file:///" + "a" * 5000])
def test_include_paths_the_os_refuses_are_bundle_errors(include: str) -> None:
    """Was: RuntimeError (``~user`` of an unknown user) or OSError ENAMETOOLONG from is_dir()."""
    files = dict(FILES)
    files["derived/bundle.md"] = document({**DERIVED_BUNDLE, "includes": [include]})
    err = outcome(lambda: load_bundle(write_tree(files) / "derived"), "derived/bundle.md")
    assert isinstance(err, InputError) and err.field == "includes[0]"


def test_an_agent_name_too_long_for_the_os_is_a_bundle_error() -> None:
    """Was: OSError ENAMETOOLONG from is_file() while explaining the missing agent file."""
    files = dict(FILES)
    files["derived/bundle.md"] = document({**DERIVED_BUNDLE, "agents": {"include": ["base:" + "x" * 300]}})
    err = outcome(lambda: load_bundle(write_tree(files) / "derived"), "derived/bundle.md")
    assert isinstance(err, InputError) and "missing" in err.reason


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**400, -(10**5000)],
                         ids=["nan", "inf", "400 digits", "-5000 digits"])
def test_module_durations_from_an_app_must_be_finite_numbers(value: Any) -> None:
    """Was: NaN and infinity accepted, a 400-digit int raised OverflowError in ``float()``."""
    err = outcome(lambda: RouterConfig.from_mount({"failure_cooldown": value}), "mount plan")
    assert isinstance(err, InputError) and err.field == "config.failure_cooldown"


@pytest.mark.parametrize("value", [".nan", ".inf", "9" * 400, "0x" + "f" * 5000])
def test_module_durations_must_be_finite_numbers(value: str) -> None:
    """Was: ``.nan`` accepted (every catalog lookup then timed out at once), ``.inf`` accepted (a
    hung provider hung every spawn), a 400-digit int raised OverflowError at mount, a 5,000-hex-
    digit int raised ValueError while the error message was formatted."""
    target, files = _hostile_file("bundle", ("hooks", 0, "config", "lookup_timeout"), value)
    err = outcome(lambda: _load_kind("bundle", write_tree(files)), target, "mount plan")
    assert isinstance(err, InputError)


@pytest.mark.parametrize("value", ["[" * 2000 + "]" * 2000, "2026-13-45", "1" + "0" * 5000, flow_bomb(10, 9)])
def test_catalog_files_are_read_with_the_same_limits_as_bundles(value: str) -> None:
    """Was: catalog files went through plain ``yaml.safe_load``: RecursionError, ValueError, an
    alias bomb expanded while formatting an error (minutes and gigabytes), duplicate keys kept."""
    target, files = _hostile_file("catalog", ("date",), value)
    err = outcome(lambda: load_catalog(write_tree(files) / target), target)
    assert isinstance(err, InputError)


def test_duplicate_keys_in_a_catalog_file_are_refused() -> None:
    text = _dump(CATALOG).replace("currency: USD\n", "currency: USD\ncurrency: EUR\n")
    err = outcome(lambda: load_catalog(write_tree({"catalog.yaml": text}) / "catalog.yaml"), "catalog.yaml")
    assert isinstance(err, InputError) and "duplicate key" in err.reason and err.line == 3


def test_a_huge_value_is_clipped_in_the_message_but_kept_on_the_error() -> None:
    """Was: a 20,000-character tier name came back as a 20,000-character message."""
    target, files = _hostile_file("settings", ("model_router", "default_tier"), "x" * 20_000)
    err = outcome(lambda: _load_kind("settings", write_tree(files)), target)
    assert isinstance(err, InputError) and "more characters" in str(err) and len(err.reason) > 20_000


@pytest.mark.parametrize("config", ["tiers", ["tiers"], 42, [("a", "b", "c")]], ids=str)
def test_a_module_config_that_is_no_mapping_is_a_bundle_error(config: Any) -> None:
    """Was: ``dict(config)`` raised ValueError / TypeError before the mapping check ran."""
    err = outcome(lambda: RouterConfig.from_mount(config), "mount plan")
    assert isinstance(err, InputError) and "mapping" in err.reason


# -- junk catalogs: whatever list_models() returns, resolution answers -------------------------


class _Raises:
    """A catalog entry whose attributes blow up when read."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name} here")


def _junk_iterable(items: list[Any], fail_at: int | None) -> Any:
    for index, item in enumerate(items):
        if index == fail_at:
            raise KeyError("catalog stream broke")
        yield item


junk_items = st.one_of(
    st.sampled_from(["claude-haiku-4-5", "Claude-Haiku-5", "claude-haiku-*", " claude-haiku-4-6 ", "",
                     "claude-haiku-" + "9" * 5000, "gpt-5-mini"]),
    st.text(max_size=20),
    st.builds(lambda i: {"id": i, "context_window": "big", "pricing": {"input": float("nan")}}, st.text(max_size=12)),
    st.sampled_from([None, 42, 3.5, b"bytes", [], {}, {"display_name": "no id"}, _Raises()]),
)


@FUZZ
@given(
    st.one_of(st.lists(junk_items, max_size=12), st.sampled_from([None, "claude-haiku-4-5", 7, {"id": "x"}])),
    st.one_of(st.none(), st.integers(0, 12)),
    st.sampled_from([None, RuntimeError("boom"), KeyError("k"), TimeoutError(), ValueError("v")]),
)
def test_whatever_list_models_returns_resolution_answers_from_it(listing: Any, fail_at: Any, error: Any) -> None:
    import asyncio

    from amplifier_module_model_router.resolve.catalog import CatalogCache
    from amplifier_module_model_router.resolve.providers import ProviderEntry
    from amplifier_module_model_router.resolve.resolver import resolve

    class Provider:
        base_url = "https://junk.example.test"

        async def list_models(self) -> Any:
            if error is not None:
                raise error
            if isinstance(listing, list) and fail_at is not None:
                return _junk_iterable(listing, fail_at)
            return listing

    chain = BUNDLE.tiers["budget"]
    entries = (ProviderEntry("anthropic", Provider()),)

    async def go() -> Any:
        return await resolve(chain, entries, CatalogCache(timeout=1.0))

    with watchdog():
        resolution = asyncio.run(go())
    raw_ids = [i.get("id") if isinstance(i, dict) else i for i in listing] if isinstance(listing, list) else []
    listed = {i.strip() for i in raw_ids if isinstance(i, str)}
    for candidate in resolution.chain():
        assert glob_matches(candidate.preference.model, candidate.model) or candidate.model == candidate.preference.model
        if candidate.model != candidate.preference.model:  # a glob: resolved from the catalog
            assert candidate.model in listed
    assert len(resolution.trace) == len(chain)
    assert all(t.reason for t in resolution.trace)
