"""Version-aware "newest model" selection for globs like ``claude-opus-*``.

Vendors spell versions many ways (``claude-opus-4-10``, ``claude-sonnet-4.6``, ``gpt-5.2-pro``,
``claude-haiku-4-5-20251001``, ``gemini-2.5-pro-preview-05-06``); a plain string sort picks
``4-6`` over ``4-10`` and a dated ``4-20250514`` over ``4-1``. This module orders ids the way a
person reading a changelog would.

The order rule (newest first), applied to the lowercased id:

1. **Snapshot stamp.** A trailing date stamp ``-YYYYMMDD``, ``-YYYY-MM-DD`` or ``@YYYYMMDD`` (and the
   legacy ``-MMDD`` right after a version, as in ``gpt-4-0613``) is removed first: it marks a
   snapshot of the version before it, never a version number.
2. **Version.** The first run of digit groups joined by single ``.``, ``-`` or ``_`` is the version
   (``claude-opus-4-1`` -> 4.1, ``gpt-5.2-pro`` -> 5.2, ``o3-mini`` -> 3). Groups compare as
   numbers, so ``4-10`` > ``4-6`` and ``5.10`` > ``5.9``; trailing zeros do not count
   (``2.0`` == ``2``). A higher version always wins. Ids with no digits (``gemini-pro-latest``)
   rank below every versioned id: an alias cannot be dated.
3. **Base before variant.** Words after the version (``fast``, ``mini``, ``pro``, ``preview``,
   ``latest``, ``haiku``...) make a variant, unless the pattern names the word itself
   (``gpt-5*-pro`` makes ``pro`` part of the base). At equal version the id with fewer unnamed
   variant words wins, so ``claude-opus-4-8`` beats ``claude-opus-4-8-fast`` and
   ``gpt-5.2`` beats ``gpt-5.2-mini``; equal counts compare the words alphabetically.
4. **Snapshots.** At equal version and variant, an undated id (the vendor's moving alias) beats
   its dated snapshots, and a newer snapshot beats an older one. Bare numbers after the variant
   words (``-preview-05-06``, ``-001``) act as snapshot numbers and compare numerically.
5. **Tags.** Ollama-style ``name:tag`` ids are ranked by ``name``; the tag is never a version.
   ``:latest`` (Ollama's default tag) counts as the base; any other tag (``:14b``, ``:1.5b``,
   ``:8b-instruct-q4``) is one variant word, so ``qwen3:latest`` beats ``qwen3:14b`` and
   ``qwen3:4b`` (which then compare alphabetically), unless the pattern names the tag.
6. **Last resort.** The original id string, ascending, so the result never depends on the order
   the provider listed its models in.

Matching itself is case-insensitive fnmatch (see :mod:`.globs`); the id is returned in the
provider's own casing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from .globs import compile_glob, group_members, is_glob

__all__ = ["SortedCatalog", "VersionKey", "newest_first", "newest_match", "version_key"]

# ``-20251001``, ``-2026-03-05``, ``@20250514`` at the end of an id.
_DATE_TAIL = re.compile(r"[-_@](\d{4})-?(\d{2})-?(\d{2})$")
# OpenAI's legacy ``gpt-4-0613``: a 4-digit month-day stamp right after a version group.
_SHORT_DATE_TAIL = re.compile(r"(\d)[-_](0[1-9]|1[0-2])([0-3]\d)$")
_VERSION = re.compile(r"\d+(?:[._-]\d+)*")
_WORDS = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d+")
_PICK_CACHE_LIMIT = 1024
_DEFAULT_TAG = "latest"
_TAG_MARK = ":"  # variant words that are tags carry it, so only a pattern naming the tag names them
_MAX_DIGITS = 18  # no vendor numbers a version past this; int() of 4,301+ digits even raises


class VersionKey(NamedTuple):
    """The pattern-independent part of an id's rank (see the module docstring)."""

    version: tuple[int, ...]
    variant: tuple[str, ...]
    snapshot: tuple[int, ...]
    dated: bool
    lowered: str
    original: str


def _number(digits: str) -> int:
    """A digit run as a number; absurdly long runs (junk ids) all rank as one huge number."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def _valid_date(year: str, month: str, day: str) -> bool:
    return "1990" <= year <= "2999" and "01" <= month <= "12" and "01" <= day <= "31"


def _split_tag(lowered: str) -> tuple[str, str]:
    """``qwen3:14b`` -> (``qwen3``, ``14b``); ``qwen3:latest`` and ``qwen3`` -> (``qwen3``, "")."""
    name, sep, tag = lowered.rpartition(":")
    if not sep or not name or not tag or "/" in tag:
        return lowered, ""
    return name, "" if tag == _DEFAULT_TAG else tag


def version_key(model_id: str) -> VersionKey:
    """Split ``model_id`` into version, variant words and snapshot stamp."""
    lowered = model_id.lower()
    text, tag = _split_tag(lowered)
    stamp: tuple[int, ...] = ()
    dated = False
    found = _DATE_TAIL.search(text)
    if found and _valid_date(*found.groups()):
        stamp = (int("".join(found.groups())),)
        dated = True
        text = text[: found.start()]
    else:
        short = _SHORT_DATE_TAIL.search(text)
        if short:
            stamp = (int(short.group(2) + short.group(3)),)
            dated = True
            text = text[: short.start() + 1]
    version: tuple[int, ...] = ()
    rest = ""
    group = _VERSION.search(text)
    if group:
        numbers: list[int] = []
        end = group.start()
        for run in _DIGITS.finditer(group.group()):
            if numbers and len(run.group()) >= 4:
                break  # ``gpt-4-1106-preview``: a 4-digit run after a version is a stamp
            numbers.append(_number(run.group()))
            end = group.start() + run.end()
        while len(numbers) > 1 and numbers[-1] == 0:
            numbers.pop()
        version = tuple(numbers)
        rest = text[end:]
    words: list[str] = []
    numbers_after: list[int] = []
    for word in _WORDS.findall(rest):
        if word.isdigit():
            numbers_after.append(_number(word))
        else:
            words.append(word)
    if tag:
        words.append(_TAG_MARK + tag)
    return VersionKey(
        version=version,
        variant=tuple(words),
        snapshot=tuple(numbers_after) + stamp,
        dated=dated or bool(numbers_after),
        lowered=lowered,
        original=model_id,
    )


def _descending(numbers: tuple[int, ...]) -> tuple[int, ...]:
    """Ascending-sort key that orders number tuples newest first.

    Negating each number reverses the order element by element; the trailing ``1`` (greater
    than any negated number) makes ``4`` rank below ``4.1`` instead of above it as a prefix.
    """
    return (*(-n for n in numbers), 1)


def _pattern_words(pattern: str) -> frozenset[str]:
    """Words a pattern spells out literally: they are part of the base, not a variant."""
    lowered = pattern.lower()
    words = {w for w in _WORDS.findall(lowered) if not w.isdigit()}
    _, tag = _split_tag(lowered)
    if tag:
        words.add(_TAG_MARK + tag)
    return frozenset(words)


def _rank_within_version(key: VersionKey, named: frozenset[str]) -> tuple:
    """Sort key among ids of one version for one pattern (smaller = newer/preferred)."""
    extra = tuple(w for w in key.variant if w not in named)
    # Snapshot numbers are compared descending: negate them. Undated first.
    return (len(extra), extra, key.dated, _descending(key.snapshot), key.original)


def _global_order(key: VersionKey) -> tuple:
    """Pattern-independent order used to pre-sort a catalog once (smaller = newer)."""
    return (
        not key.version,
        _descending(key.version),
        len(key.variant),
        key.variant,
        key.dated,
        _descending(key.snapshot),
        key.original,
    )


class SortedCatalog:
    """A catalog's ids ranked newest-first once; picks are cached per pattern.

    Resolving a glob against an unchanged catalog is then a dict lookup: the catalog is never
    re-sorted and a pattern is matched against it at most once.
    """

    __slots__ = ("_keys", "_exact", "_picks", "ids")

    def __init__(self, model_ids: Iterable[str]) -> None:
        seen: set[str] = set()
        keys: list[VersionKey] = []
        for model_id in model_ids:
            if isinstance(model_id, str) and model_id and model_id not in seen:
                seen.add(model_id)
                keys.append(version_key(model_id))
        keys.sort(key=_global_order)
        self._keys: tuple[VersionKey, ...] = tuple(keys)
        self.ids: tuple[str, ...] = tuple(k.original for k in keys)
        exact: dict[str, str] = {}
        for key in keys:
            exact.setdefault(key.lowered, key.original)
        self._exact = exact
        self._picks: dict[str, tuple[str | None, int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(self.ids)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and model_id.lower() in self._exact

    def find(self, model_id: str) -> str | None:
        """The catalog's own spelling of an exact (case-insensitive) id, or None."""
        return self._exact.get(model_id.lower())

    def pick(self, pattern: str) -> tuple[str | None, int]:
        """``(newest match or None, number of matches)``; cached per pattern.

        Raises :class:`~.errors.InputError` for a malformed glob.
        """
        cached = self._picks.get(pattern)
        if cached is not None:
            return cached
        result = self._pick(pattern)
        if len(self._picks) >= _PICK_CACHE_LIMIT:  # tiers use a handful; callers may not
            self._picks.clear()
        self._picks[pattern] = result
        return result

    def _pick(self, pattern: str) -> tuple[str | None, int]:
        members = group_members(pattern)
        if len(members) > 1:  # a candidate group: newest across members, ties by order written
            picks = [(i, *self.pick(m)) for i, m in enumerate(members)]
            found = [(i, model, count) for i, model, count in picks if model is not None]
            if not found:
                return None, 0
            ranked = newest_first([model for _, model, _ in found])
            first = min(found, key=lambda item: (ranked[item[1]], item[0]))
            return first[1], sum(count for _, _, count in found)
        if not is_glob(pattern):
            exact = self.find(pattern)
            return exact, int(exact is not None)
        match = compile_glob(pattern).match
        matches = [key for key in self._keys if match(key.lowered)]
        if not matches:
            return None, 0
        top = matches[0].version  # pre-sorted: the first match carries the newest version
        same_version = [key for key in matches if key.version == top]
        named = _pattern_words(pattern)
        best = min(same_version, key=lambda key: _rank_within_version(key, named))
        return best.original, len(matches)


def newest_match(pattern: str, model_ids: Iterable[str]) -> str | None:
    """The newest id in ``model_ids`` matching ``pattern`` (glob or exact), provider's casing.

    Pass a :class:`SortedCatalog` to reuse its order and pick cache across calls.
    """
    catalog = model_ids if isinstance(model_ids, SortedCatalog) else SortedCatalog(model_ids)
    return catalog.pick(pattern)[0]


def newest_first(model_ids: Iterable[str]) -> dict[str, int]:
    """Rank of each id by version alone (0 = newest); equal versions share a rank.

    Used across a candidate group's picks, where "newer" means a higher version and nothing
    else: variant words and ids decide nothing, the order the group was written in does.
    """
    versions = sorted({version_key(m).version for m in model_ids}, key=lambda v: (not v, _descending(v)))
    rank = {v: i for i, v in enumerate(versions)}
    return {m: rank[version_key(m).version] for m in model_ids}
