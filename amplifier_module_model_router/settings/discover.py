"""Find and read the settings layers: org file, user, project, local, mount plan.

Paths follow Amplifier's conventions: user settings in the Amplifier home
(``$AMPLIFIER_HOME``, else ``~/.amplifier``, as amplifier-foundation's ``get_amplifier_home``),
project settings in ``.amplifier/`` of the working folder, with ``settings.local.yaml`` (the
gitignored, per-machine file) above ``settings.yaml``. Only the ``model_router:`` section of
those shared files is ours; the org file is ours alone.

(app-cli's own settings code reads ``~/.amplifier/settings.yaml`` even when ``AMPLIFIER_HOME``
is set; with it unset, which is the common case, both read the same file.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, SettingsError, reraised_as
from ..bounded_read import read_text
from ..safe_yaml import split_document
from ..shared import shared
from .lines import key_lines
from . import reuse
from .names import BUNDLE_NAMESPACE
from .schema import SettingsLayer, parsed_layer

ORG_ENV = "AMPLIFIER_MODEL_ROUTER_ORG_SETTINGS"
HOME_ENV = "AMPLIFIER_HOME"
SECTION = "model_router"
MOUNT_SOURCE = "mount plan"


def amplifier_home(*, env: Mapping[str, str], home: Path | None) -> Path | None:
    """``$AMPLIFIER_HOME`` when set (``~`` expanded), else ``<home>/.amplifier``."""
    configured = env.get(HOME_ENV, "").strip()
    if configured:
        return _expand(configured, home)
    return home / ".amplifier" if home is not None else None


def settings_paths(
    *, cwd: Path, env: Mapping[str, str], home: Path | None
) -> list[tuple[str, Path, str | None, bool]]:
    """``(layer, path, section, required)`` for every file layer, weakest first."""
    paths: list[tuple[str, Path, str | None, bool]] = []
    org = env.get(ORG_ENV, "").strip()
    if org:
        org_path = _expand(org, home)
        paths.append(("org", org_path if org_path.is_absolute() else cwd / org_path, None, True))
    user_home = amplifier_home(env=env, home=home)
    if user_home is not None:
        if not user_home.is_absolute():
            user_home = cwd / user_home
        paths.append(("user", user_home / "settings.yaml", SECTION, False))
    project = cwd / ".amplifier"
    paths.append(("project", project / "settings.yaml", SECTION, False))
    paths.append(("local", project / "settings.local.yaml", SECTION, False))
    return paths


def discover_layers(
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    mount_config: Mapping[str, Any] | None = None,
    namespace: str = BUNDLE_NAMESPACE,
    problems: list[InputError] | None = None,
) -> list[SettingsLayer]:
    """Read and validate every layer that exists, weakest first.

    Missing user/project/local files are simply absent layers; a missing org file is an
    error (someone named it). Any bad file raises :class:`SettingsError` naming file, key and
    line, before anything is applied; with a ``problems`` list, a bad file is put there and
    left out instead (a session keeps routing with the other layers). ``mount_config`` holds
    the settings keys of the module's mount-plan config; a ``tiers`` key there is ignored,
    because in a mount plan ``tiers`` are the bundle's own tiers (pass them to
    ``effective_routing`` as ``bundle_tiers``), not an override of the layers above them.
    """
    cwd = cwd if cwd is not None else Path.cwd()
    env = os.environ if env is None else env
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:  # no HOME and no passwd entry: no user layer unless AMPLIFIER_HOME
            home = None
    layers: list[SettingsLayer] = []
    read: set[Any] = set()
    for name, path, section, required in _settings_paths(cwd, env, home):
        info = _stat(path)
        if info is None and not required and not path.exists():
            continue
        # working in the home folder: project file == user file
        identity = (info.st_dev, info.st_ino) if info is not None else path.resolve()
        if identity in read:
            continue
        read.add(identity)
        try:
            layer = reuse.file_layer(
                path, info, name, section, namespace,
                lambda: _parsed_file_layer(name, path, section, namespace),
                reraise=problems is None,
            )
        except InputError as err:
            if problems is None:
                raise
            problems.append(err)
            continue
        if layer is not None:
            layers.append(layer)
    mount = module_config_layer(mount_config, namespace=namespace)
    if mount is not None:
        layers.append(mount)
    return layers


def module_config_layer(
    mount_config: Mapping[str, Any] | None, *, namespace: str = BUNDLE_NAMESPACE, source: str = MOUNT_SOURCE
) -> SettingsLayer | None:
    """The settings keys of the module's config as a validated layer (``tiers`` left out: they
    are the bundle's own tiers); None when it sets none. Raises :class:`SettingsError` naming
    ``source`` (``validate`` names the bundle's file) and the key."""
    if not mount_config:
        return None
    values: Any = mount_config
    if isinstance(mount_config, Mapping):
        values = {key: value for key, value in mount_config.items() if key != "tiers"}
    if not values:
        return None

    def parse() -> SettingsLayer:
        return parsed_layer(SettingsLayer("mount", source, values, section="config"), namespace=namespace)

    if source != MOUNT_SOURCE:  # the memo's layers are named "mount plan"
        return parse()
    return reuse.mount_layer(mount_config, namespace, parse)


_PATHS_LIMIT = 64
_paths: dict[tuple[str, str, str, str | None], tuple[tuple[str, Path, str | None, bool], ...]] = shared(
    "settings paths", dict, dict.clear
)


def _settings_paths(
    cwd: Path, env: Mapping[str, str], home: Path | None
) -> tuple[tuple[str, Path, str | None, bool], ...]:
    """:func:`settings_paths`, memoised on everything it reads (every child mount asks again)."""
    key = (str(cwd), env.get(ORG_ENV, ""), env.get(HOME_ENV, ""), None if home is None else str(home))
    hit = _paths.get(key)
    if hit is None:
        if len(_paths) >= _PATHS_LIMIT:
            _paths.clear()
        hit = _paths[key] = tuple(settings_paths(cwd=cwd, env=env, home=home))
    return hit


def _stat(path: Path) -> os.stat_result | None:
    """The file's ``os.stat`` (links followed), None when there is none to take."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _parsed_file_layer(name: str, path: Path, section: str | None, namespace: str) -> SettingsLayer | None:
    layer = _file_layer(name, path, section)
    return parsed_layer(layer, namespace=namespace) if layer is not None else None


def _file_layer(name: str, path: Path, section: str | None) -> SettingsLayer | None:
    """One file's layer, or None when it says nothing for us."""
    source = str(path)
    if section is None and not path.exists():
        raise SettingsError(f"file not found (named by ${ORG_ENV})", file=source)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise SettingsError("expected a .yaml or .yml file", file=source)
    with reraised_as(SettingsError):
        text = read_text(path, display=source)  # a regular file, bytes capped while reading
        data, _ = split_document(text, suffix=path.suffix, display=source)  # aliases, depth, dups
    if section is None and set(data) == {SECTION}:
        section = SECTION  # the org file may reuse the same snippet as settings.yaml
    if section is not None and SECTION not in data and "model-router" in data:
        raise SettingsError(
            f"the section is spelt '{SECTION}' (underscore)",
            file=source,
            field="model-router",
            line=key_lines(text).get("model-router"),
        )
    values = data.get(section) if section is not None else data
    if values is None or (isinstance(values, Mapping) and not values):
        return None
    lines = key_lines(text)
    return SettingsLayer(name, source, values, lines=lines, section=section)


def _expand(value: str, home: Path | None) -> Path:
    """``~`` against the given home (tests pass their own), never the process's."""
    if value == "~" or value.startswith(("~/", "~\\")):
        if home is None:
            return Path(value).expanduser()
        return home / value[2:] if len(value) > 1 else home
    return Path(value)
