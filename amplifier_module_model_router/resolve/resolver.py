"""The fallback chain: ordered preferences in, a concrete provider and model out.

Walks an agent's preferences in order against the session's providers and their cached
catalogs. Every candidate ends up in the trace as ``chosen``, ``fallback`` or ``skipped`` with
a reason a person can act on; nothing resolvable is a result (``chosen is None``), never an
exception and never a raw glob. Knows providers only through :class:`.catalog.CatalogCache`.

Order of work: match every preference to a mounted provider, fetch the catalogs they need
concurrently (a hung provider costs one timeout, not one per candidate), resolve each glob to
the newest concrete model (:mod:`.versions`), hold it to the tier's price ceiling when there is
one (:class:`.prices.PriceCeiling`), then apply cooldowns. The catalog part depends
only on the chain, the providers and the catalogs, so it is memoised in ``cache.memo`` until
any catalog changes or expires: a warm resolution is a dict lookup plus the cooldown check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..duck import attr_or_key
from ..errors import InputError
from .catalog import CatalogCache, CatalogLookup
from .globs import group_members, is_glob
from .preferences import ProviderPreference
from .prices import PriceCeiling
from .providers import ProviderEntry, match_provider
from .versions import newest_first

__all__ = [
    "CHOSEN",
    "FALLBACK",
    "SKIPPED",
    "Candidate",
    "CooldownView",
    "Resolution",
    "TraceEntry",
    "catalog_is_complete",
    "resolve",
]

CHOSEN = "chosen"
FALLBACK = "fallback"
SKIPPED = "skipped"
_MEMO_LIMIT = 1024  # chains x provider sets; cleared on any catalog change anyway


@dataclass(frozen=True, slots=True)
class Candidate:
    """A resolved candidate: mount name + concrete model, and the preference it came from."""

    provider: str
    model: str
    preference: ProviderPreference
    entry: ProviderEntry

    def to_preference(self) -> ProviderPreference:
        """The concrete preference to hand a spawner: no glob left, original config kept."""
        return ProviderPreference(self.provider, self.model, dict(self.preference.config))


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """What happened to one preference, in chain order."""

    index: int
    preference: ProviderPreference
    outcome: str  # CHOSEN | FALLBACK | SKIPPED
    reason: str
    provider: str | None
    model: str | None
    matched: int
    from_cache: bool
    price_note: str = ""
    """How the candidate stands against the tier's price ceiling (empty: no ceiling); a
    candidate above it is skipped and ``reason`` says so."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The chosen candidate, the resolved fallbacks in order, and the full trace."""

    chosen: Candidate | None
    fallbacks: tuple[Candidate, ...]
    trace: tuple[TraceEntry, ...]
    from_cache: bool
    elapsed_ms: float

    @property
    def skipped(self) -> tuple[TraceEntry, ...]:
        return tuple(t for t in self.trace if t.outcome == SKIPPED)

    def chain(self) -> tuple[Candidate, ...]:
        """Chosen first, then the fallbacks: the order to fail over in."""
        return (self.chosen, *self.fallbacks) if self.chosen is not None else ()


class CooldownView(Protocol):
    """Read-only view of recent provider failures (the failover layer owns the writes)."""

    def remaining(self, provider: str, model: str | None = None) -> float:
        """Seconds until ``(provider, model)`` (or the whole provider) is usable again; 0 when
        free. ``provider`` is the provider's account key (``ProviderEntry.identity``,
        ``name#hash``): cooldowns belong to an account, not to a mount name."""
        ...


@dataclass(frozen=True, slots=True)
class _Step:
    """One preference after the catalog phase: resolved (``candidate``) or skipped (``reason``)."""

    index: int
    preference: ProviderPreference
    candidate: Candidate | None
    reason: str
    matched: int
    from_cache: bool
    price_note: str = ""


@dataclass(frozen=True, slots=True)
class _Plan:
    """The memoised catalog phase of one chain, plus its cooldown-free answer."""

    steps: tuple[_Step, ...]
    entries: tuple[ProviderEntry, ...]  # held so the provider ids in the memo key stay unique
    expires_at: float
    chosen: Candidate | None
    fallbacks: tuple[Candidate, ...]
    trace: tuple[TraceEntry, ...]  # as seen from the cache (every from_cache True)
    ceiling: PriceCeiling | None = None  # held so the price table's id in the memo key stays unique


# -- the catalog phase -------------------------------------------------------------------------


def _normalize(preferences: Any) -> tuple[list[ProviderPreference], dict[int, str], bool]:
    """Our preferences, invalid ones as placeholders with their error; flag: all were ours."""
    prefs: list[ProviderPreference] = []
    invalid: dict[int, str] = {}
    ours = True
    try:
        items = list(preferences or ())
    except TypeError:
        items = []
    for index, item in enumerate(items):
        if isinstance(item, ProviderPreference):
            prefs.append(item)
            continue
        ours = False
        try:
            prefs.append(ProviderPreference.from_dict(item))
        except Exception as err:  # InputError, or a foreign object that breaks on access
            invalid[index] = f"invalid preference: {err}"
            provider = attr_or_key(item, "provider")
            model = attr_or_key(item, "model")
            prefs.append(ProviderPreference(str(provider or "?"), str(model or "?"), {}))
    return prefs, invalid, ours


def catalog_is_complete(provider: Any) -> bool:
    """Whether a provider's list is every model it serves (it says so: ``catalog_complete``).

    None of the real provider modules claims it (Anthropic keeps one id per family by default,
    OpenAI keeps ``gpt-5``/``gpt-6``, Gemini keeps names containing "gemini"), so an exact name
    they do not list is still sent; a 404 at call time fails over. The offline simulator serves
    exactly its snapshot, so it does claim it.
    """
    try:
        return getattr(provider, "catalog_complete", False) is True
    except Exception:
        return False


def _resolve_step(
    index: int, pref: ProviderPreference, entry: ProviderEntry | None, lookup: CatalogLookup | None
) -> _Step:
    def skip(reason: str, matched: int = 0) -> _Step:
        return _Step(index, pref, None, reason, matched, lookup.from_cache if lookup else True)

    if entry is None or lookup is None:
        return skip(f"provider {pref.provider!r} is not mounted")
    if lookup.error is not None:
        if lookup.timed_out:
            return skip(f"catalog lookup of {entry.name!r} {lookup.error}")
        return skip(f"catalog lookup of {entry.name!r} failed: {lookup.error}")
    members = group_members(pref.model)
    if len(members) > 1:
        return _resolve_group(index, pref, members, entry, lookup)
    found = _resolve_one(pref.model, entry, lookup)
    if isinstance(found, str):
        return skip(found)
    model, matched, reason = found
    candidate = Candidate(provider=entry.name, model=model, preference=pref, entry=entry)
    return _Step(index, pref, candidate, reason, matched, lookup.from_cache)


def _resolve_one(pattern: str, entry: ProviderEntry, lookup: CatalogLookup) -> tuple[str, int, str] | str:
    """``(model, matches, reason)`` for one glob or exact name, or the reason it is skipped."""
    catalog = lookup.sorted
    if is_glob(pattern):
        if not len(catalog):
            return (
                f"{entry.name!r} lists no models (discovery unsupported): "
                f"glob {pattern!r} cannot be resolved"
            )
        try:
            model, matched = catalog.pick(pattern)
        except InputError as err:
            return f"invalid glob: {err}"
        if model is None:
            return f"no model matches {pattern!r} among {len(catalog)} in {entry.name!r}"
        return model, matched, f"{pattern} -> {model} (newest of {matched} match{'es' if matched != 1 else ''})"
    if not len(catalog):
        return pattern, 0, f"{pattern} used as-is: {entry.name!r} lists no models (discovery unsupported)"
    model = catalog.find(pattern)
    if model is not None:
        return model, 1, f"{model} is listed by {entry.name!r}"
    if catalog_is_complete(entry.provider):
        return f"{pattern!r} is not among the {len(catalog)} models of {entry.name!r}"
    return (
        pattern,
        0,
        f"{pattern} sent as-is: not among the {len(catalog)} models {entry.name!r} lists, and "
        "that list may be partial (a 404 at call time fails over)",
    )


def _resolve_group(
    index: int,
    pref: ProviderPreference,
    members: tuple[str, ...],
    entry: ProviderEntry,
    lookup: CatalogLookup,
) -> _Step:
    """The newest model any member finds; at equal version the member written first wins."""
    found: list[tuple[int, str, int]] = []
    notes: list[str] = []
    for position, member in enumerate(members):
        one = _resolve_one(member, entry, lookup)
        if isinstance(one, str):
            notes.append(f"{member}: none")
        else:
            found.append((position, one[0], one[1]))
            notes.append(f"{member} -> {one[0]}")
    if not found:
        return _Step(
            index, pref, None, f"no member of the group matches in {entry.name!r} ({'; '.join(notes)})",
            0, lookup.from_cache,
        )
    ranked = newest_first([model for _, model, _ in found])
    best = min(found, key=lambda item: (ranked[item[1]], item[0]))
    matched = sum(count for _, _, count in found)
    reason = f"group: {'; '.join(notes)}; newest: {best[1]}"
    candidate = Candidate(provider=entry.name, model=best[1], preference=pref, entry=entry)
    return _Step(index, pref, candidate, reason, matched, lookup.from_cache)


def _hold_to_ceiling(step: _Step, ceiling: PriceCeiling, lookup: CatalogLookup | None) -> _Step:
    """``step`` skipped when its model lists above ``ceiling``, else noted with where it stands."""
    candidate = step.candidate
    assert candidate is not None  # only resolved steps are judged
    record = lookup.record(candidate.model) if lookup else None
    listed = record.pricing if record is not None else None
    within, note = ceiling.judge(candidate.provider, candidate.entry.names, candidate.model, listed)
    if not within:
        return replace(step, candidate=None, reason=note)
    return replace(step, price_note=note)


async def _fetch_catalogs(
    prefs: list[ProviderPreference],
    invalid: dict[int, str],
    entries: Sequence[ProviderEntry],
    cache: CatalogCache,
) -> tuple[list[ProviderEntry | None], dict[str, CatalogLookup], bool]:
    """Each preference's provider entry, the catalogs they need, and whether any was awaited."""
    matched = [None if i in invalid else match_provider(p.provider, entries) for i, p in enumerate(prefs)]
    needed = {e.key: e for e in matched if e is not None}
    lookups: dict[str, CatalogLookup] = {}
    missing = []
    for key, wanted in needed.items():
        cached = cache.peek_key(key)
        if cached is None:
            missing.append(wanted)
        else:
            lookups[key] = cached
    if missing:  # concurrently: a hung provider costs one timeout in total
        for wanted, fetched in zip(missing, await asyncio.gather(*(cache.lookup(e) for e in missing))):
            lookups[wanted.key] = fetched
    return matched, lookups, bool(missing)


def _catalog_phase(
    prefs: list[ProviderPreference],
    invalid: dict[int, str],
    matched: list[ProviderEntry | None],
    lookups: Mapping[str, CatalogLookup],
    ceiling: PriceCeiling | None = None,
) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    seen: dict[tuple[str, str], int] = {}
    for index, (pref, entry) in enumerate(zip(prefs, matched)):
        if index in invalid:
            steps.append(_Step(index, pref, None, invalid[index], 0, True))
            continue
        lookup = lookups.get(entry.key) if entry else None
        try:
            step = _resolve_step(index, pref, entry, lookup)
            if ceiling is not None and step.candidate is not None:
                step = _hold_to_ceiling(step, ceiling, lookup)
        except Exception as exc:  # never let one odd candidate sink the chain
            step = _Step(index, pref, None, f"internal error: {type(exc).__name__}: {exc}", 0, True)
        if step.candidate is not None:
            same = (step.candidate.provider, step.candidate.model.lower())
            if same in seen:
                step = replace(step, candidate=None, reason=f"same provider and model as [{seen[same]}]")
            else:
                seen[same] = index
        steps.append(step)
    return tuple(steps)


# -- the cooldown phase and assembly -----------------------------------------------------------


def _assemble(
    steps: tuple[_Step, ...],
    cooldowns: CooldownView | None,
    all_cached: bool,
) -> tuple[Candidate | None, tuple[Candidate, ...], tuple[TraceEntry, ...]]:
    resolved = [s for s in steps if s.candidate is not None]
    waits: dict[int, float] = {}
    if cooldowns is not None:
        for step in resolved:
            assert step.candidate is not None  # resolved steps only
            wait = _remaining(cooldowns, step.candidate)
            if wait > 0:
                waits[step.index] = wait
    free = [s for s in resolved if s.index not in waits]
    notes: dict[int, str] = {}
    if free:
        chain = free
        for index, wait in waits.items():
            notes[index] = f"cooling down ({wait:.1f}s left)"
    else:  # everything is cooling: the one that frees first beats nothing at all
        chain = sorted(resolved, key=lambda s: (waits[s.index], s.index))
        for step in chain:
            notes[step.index] = f"all candidates cooling down; frees in {waits[step.index]:.1f}s"
    order = {step.index: position for position, step in enumerate(chain)}
    trace = []
    for step in steps:
        position = order.get(step.index)
        if position is None:
            outcome, reason = SKIPPED, notes.get(step.index, step.reason)
        else:
            outcome = CHOSEN if position == 0 else FALLBACK
            reason = step.reason if step.index not in notes else f"{step.reason}; {notes[step.index]}"
        candidate = step.candidate
        trace.append(
            TraceEntry(
                index=step.index,
                preference=step.preference,
                outcome=outcome,
                reason=reason,
                provider=candidate.provider if candidate else None,
                model=candidate.model if candidate else None,
                matched=step.matched,
                from_cache=True if all_cached else step.from_cache,
                price_note=step.price_note,
            )
        )
    candidates = tuple(s.candidate for s in chain if s.candidate is not None)  # resolved steps
    return (candidates[0] if candidates else None), candidates[1:], tuple(trace)


def _remaining(cooldowns: CooldownView, candidate: Candidate) -> float:
    try:
        wait = float(cooldowns.remaining(candidate.entry.identity, candidate.model))
    except Exception:  # a broken cooldown view must not block routing
        return 0.0
    return wait if wait > 0 else 0.0


def _answer(
    plan: _Plan, cooldowns: CooldownView | None, started: float
) -> Resolution:
    """A memoised plan as a Resolution; cooldowns are re-read every time (they are time-bound)."""
    chosen, fallbacks, trace = plan.chosen, plan.fallbacks, plan.trace
    if cooldowns is not None and chosen is not None:
        for candidate in (chosen, *fallbacks):
            if _remaining(cooldowns, candidate) > 0:
                chosen, fallbacks, trace = _assemble(plan.steps, cooldowns, True)
                break
    return Resolution(chosen, fallbacks, trace, True, (time.perf_counter() - started) * 1000)


# -- entry point -------------------------------------------------------------------------------


async def resolve(
    preferences: Sequence[ProviderPreference],
    entries: Sequence[ProviderEntry],
    cache: CatalogCache,
    *,
    cooldowns: CooldownView | None = None,
    ceiling: PriceCeiling | None = None,
) -> Resolution:
    """Resolve an ordered chain of preferences to a concrete provider and model.

    ``preferences`` may also hold foundation-style preference objects or dicts; an invalid one
    is skipped with its error. ``ceiling`` (a tier's ``price_ceiling``) skips every candidate
    whose list price is above it. Never raises (except when the caller is cancelled).
    """
    started = time.perf_counter()
    memo = cache.memo
    priced = ceiling.key if ceiling is not None else None
    identity = (id(preferences), id(entries), priced)
    hit = memo.get(identity)
    if hit is not None and hit[0] is preferences and hit[1] is entries:
        if cache.clock() < hit[2].expires_at:
            return _answer(hit[2], cooldowns, started)

    prefs, invalid, ours = _normalize(preferences)
    usable = tuple(e for e in (entries or ()) if isinstance(e, ProviderEntry))
    content_key: tuple | None = None
    if ours and not invalid:
        content_key = (
            tuple([(p.provider, p.model) for p in prefs]),
            tuple([e.signature for e in usable]),
            priced,
        )
        plan = memo.get(content_key)
        if _reusable(plan, prefs, cache):
            assert plan is not None
            _remember(memo, identity, preferences, entries, plan)
            return _answer(plan, cooldowns, started)

    matched, lookups, awaited = await _fetch_catalogs(prefs, invalid, usable, cache)
    used = tuple(lookups.values())
    all_cached = all(lookup.from_cache for lookup in used)
    plan = memo.get(content_key) if awaited and content_key is not None else None
    if _reusable(plan, prefs, cache):  # spawns that waited for the same catalogs: the first back resolved for all
        assert plan is not None
        chosen, fallbacks, trace = _assemble(plan.steps, cooldowns, all_cached)
        return Resolution(chosen, fallbacks, trace, all_cached, (time.perf_counter() - started) * 1000)
    steps = _catalog_phase(prefs, invalid, matched, lookups, ceiling)
    chosen, fallbacks, trace = _assemble(steps, cooldowns, all_cached)
    resolution = Resolution(chosen, fallbacks, trace, all_cached, (time.perf_counter() - started) * 1000)

    if content_key is not None and all(cache.is_current(lookup) for lookup in used):
        expires = min((lookup.expires_at for lookup in used), default=float("inf"))
        if all_cached and cooldowns is None:
            plan = _Plan(steps, usable, expires, chosen, fallbacks, trace, ceiling)
        else:
            plan = _Plan(steps, usable, expires, *_assemble(steps, None, True), ceiling)
        _remember(memo, identity, preferences, entries, plan)
        if len(memo) >= _MEMO_LIMIT:  # list preferences skip _remember, and its clear with it
            memo.clear()
        memo[content_key] = plan
    return resolution


def _reusable(plan: _Plan | None, prefs: Sequence[ProviderPreference], cache: CatalogCache) -> bool:
    """A memoised plan still answers ``prefs``: catalogs not expired, same preference configs."""
    return (
        plan is not None
        and cache.clock() < plan.expires_at
        and all(a.config == s.preference.config for a, s in zip(prefs, plan.steps))
    )


def _remember(memo: dict, identity: tuple[Any, ...], preferences: Any, entries: Any, plan: _Plan) -> None:
    """Identity shortcut for immutable inputs (tuples); holding them keeps their ids unique."""
    if type(preferences) is tuple and type(entries) is tuple:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[identity] = (preferences, entries, plan)
