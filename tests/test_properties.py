"""Properties of the version order and glob resolution (versions.py), over generated model ids.

The ids are built the way vendors build them (family, version groups joined by ``.``, ``-`` or
``_``, variant words, date stamps and revision numbers, any casing), plus arbitrary text for
the properties that must hold for anything a provider might list. The order is observed only
through the public API: ``newest_match(pattern, [a, b]) == a`` means "a is newer than b for
this pattern".

Deterministic: derandomized, no example database, so CI runs the same examples every time.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from amplifier_module_model_router.resolve.globs import glob_matches, is_glob
from amplifier_module_model_router.resolve.versions import SortedCatalog, newest_match, version_key

CI = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

FAMILIES = ("claude-opus", "claude-sonnet", "claude-haiku", "gpt", "gemini", "o", "llama", "mistral-large")
VARIANTS = ("fast", "mini", "pro", "preview", "latest", "lite", "nano", "codex", "sol", "exp", "turbo")
SEPARATORS = (".", "-", "_")


@dataclass(frozen=True)
class Model:
    """A model id by its parts; ``render`` spells it (``case`` picks the casing)."""

    family: str
    version: tuple[int, ...]
    seps: tuple[str, ...]
    variants: tuple[str, ...] = ()
    stamp: str = ""  # "", "-20251001", "-2025-10-01", "@20251001" or "-001"
    case: int = 0  # 0 lower, 1 upper, 2 title, 3 family capitalised

    def render(self) -> str:
        joiner = "" if self.family in ("o", "llama") else "-"
        version = str(self.version[0]) + "".join(s + str(n) for s, n in zip(self.seps, self.version[1:]))
        text = self.family + (joiner + version if self.version else "")
        text += "".join("-" + v for v in self.variants) + self.stamp
        return (text, text.upper(), text.title(), text[:1].upper() + text[1:])[self.case]

    @property
    def normalized(self) -> tuple[int, ...]:
        version = list(self.version)
        while len(version) > 1 and version[-1] == 0:
            version.pop()
        return tuple(version)


def _date(draw) -> str:
    year = draw(st.integers(2023, 2027))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    return draw(st.sampled_from((f"-{year}{month:02}{day:02}", f"-{year}-{month:02}-{day:02}",
                                 f"@{year}{month:02}{day:02}")))


@st.composite
def models(draw, family: str | None = None, versioned: bool = True) -> Model:
    family = family or draw(st.sampled_from(FAMILIES))
    size = draw(st.integers(1 if versioned else 0, 3))
    # First group small, later ones below 999 (so +1 stays below 1000): a 4-digit group after
    # a version is a stamp, by the documented rule.
    version = tuple([draw(st.integers(0, 12))] + [draw(st.integers(0, 998)) for _ in range(size - 1)])
    seps = tuple(draw(st.sampled_from(SEPARATORS)) for _ in range(max(size - 1, 0)))
    variants = tuple(draw(st.lists(st.sampled_from(VARIANTS), max_size=2, unique=True)))
    stamp = draw(st.sampled_from(("", "", "date", "rev")))
    if stamp == "date":
        stamp = _date(draw)
    elif stamp == "rev":
        stamp = "-" + f"{draw(st.integers(1, 9)):03}" if variants else ""  # ``-preview-001``
    return Model(family, version, seps, variants, stamp, draw(st.integers(0, 3)))


ID_CHARS = st.sampled_from("abcdefgxyzABCXYZ0123456789.-_@:/ ")
any_ids = st.one_of(
    st.text(ID_CHARS, min_size=1, max_size=24),
    models().map(Model.render),
    st.integers(0, 6000).map(lambda n: "gpt-" + "9" * n),  # digit runs of any length
    st.text(min_size=1, max_size=12),  # unicode, digits of other scripts
)


def patterns_for(family: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        (f"{family}*", f"{family}-*", f"{family.upper()}*", "*", f"{family}*pro*", f"{family}*-mini",
         f"{family}-[0-9]*", f"{family}*[!0-9]")
    )


def oracle_matches(pattern: str, model_id: str) -> bool:
    """The documented semantics: case-insensitive fnmatch."""
    return fnmatch.fnmatchcase(model_id.lower(), pattern.lower())


def newer(pattern: str, a: str, b: str) -> bool:
    return a != b and newest_match(pattern, [a, b]) == a


# -- the order -----------------------------------------------------------------------------------


@CI
@given(st.lists(any_ids, min_size=1, max_size=6))
@example(["gpt-" + "1" * 5000, "gpt-5"])  # was: ValueError from int() past 4,300 digits
def test_version_key_and_catalog_are_total_over_any_text(ids: list[str]) -> None:
    for model_id in ids:
        assert version_key(model_id).original == model_id
    catalog = SortedCatalog(ids)
    assert set(catalog.ids) == set(ids)
    assert newest_match("*", ids) == catalog.ids[0]


@CI
@given(st.lists(any_ids, min_size=3, max_size=3, unique=True))
def test_order_is_total_antisymmetric_and_transitive_over_any_ids(ids: list[str]) -> None:
    a, b, c = ids
    for x, y in ((a, b), (b, c), (a, c)):
        assert newer("*", x, y) != newer("*", y, x)  # total and antisymmetric
    if newer("*", a, b) and newer("*", b, c):
        assert newer("*", a, c)
    # The catalog's pick is the element newer than every other one.
    picked = newest_match("*", [c, a, b])
    assert all(newer("*", picked, other) for other in ids if other != picked)


@CI
@given(st.sampled_from(FAMILIES).flatmap(
    lambda f: st.tuples(st.lists(models(f).map(Model.render), min_size=3, max_size=3, unique=True), patterns_for(f))
))
def test_order_is_transitive_for_every_pattern(case: tuple[list[str], str]) -> None:
    ids, pattern = case
    matching = [i for i in ids if glob_matches(pattern, i)]
    assume(len(matching) == 3)
    a, b, c = matching
    for x, y in ((a, b), (b, c), (a, c)):
        assert newer(pattern, x, y) != newer(pattern, y, x)
    for x, y, z in ((a, b, c), (a, c, b), (b, a, c), (b, c, a), (c, a, b), (c, b, a)):
        if newer(pattern, x, y) and newer(pattern, y, z):
            assert newer(pattern, x, z)


@CI
@given(st.lists(models().map(Model.render), min_size=2, max_size=10, unique=True))
def test_sorted_catalog_lists_ids_newest_first_in_the_pairwise_order(ids: list[str]) -> None:
    ranked = SortedCatalog(ids).ids
    for i in range(len(ranked) - 1):
        assert newer("*", ranked[i], ranked[i + 1])


# -- the pick ------------------------------------------------------------------------------------


@st.composite
def derived_pattern(draw, ids: list[str]) -> str:
    """A glob (or exact name) cut from one of the ids: segments become ``*``, ``?`` or a class."""
    source = draw(st.sampled_from(ids))
    out = []
    for ch in source:
        roll = draw(st.integers(0, 9))
        if roll == 0:
            out.append("*")
        elif roll == 1:
            out.append("?")
        elif roll == 2 and ch.isdigit():
            out.append("[0-9]")
        elif roll == 3:
            out.append(ch.swapcase())
        else:
            out.append(ch)
    pattern = "".join(out)
    exact = "".join(ch.swapcase() if draw(st.booleans()) else ch for ch in source)
    return draw(st.sampled_from((pattern, pattern + "*", "*" + pattern[len(pattern) // 2 :], exact)))


@st.composite
def catalogs_and_patterns(draw) -> tuple[list[str], str]:
    ids = draw(st.lists(st.one_of(models().map(Model.render), st.text(ID_CHARS, min_size=1, max_size=16)),
                        min_size=1, max_size=12))
    pattern = draw(st.one_of(derived_pattern(ids), st.sampled_from(FAMILIES).flatmap(patterns_for)))
    return ids, pattern


@CI
@given(catalogs_and_patterns(), st.randoms(use_true_random=False), st.data())
def test_pick_ignores_listing_order_and_duplicates(case, rng: random.Random, data) -> None:
    ids, pattern = case
    noisy = ids + data.draw(st.lists(st.sampled_from(ids), max_size=5))
    rng.shuffle(noisy)
    assert newest_match(pattern, noisy) == newest_match(pattern, ids)
    assert SortedCatalog(noisy).pick(pattern) == SortedCatalog(ids).pick(pattern)


@CI
@given(catalogs_and_patterns())
def test_pick_matches_the_pattern_and_is_a_listed_id_in_its_own_casing(case) -> None:
    ids, pattern = case
    picked, count = SortedCatalog(ids).pick(pattern)
    matching = {i for i in ids if oracle_matches(pattern, i)}
    if not matching:
        assert picked is None and count == 0
        return
    assert picked in ids  # the very string the provider listed
    assert picked in matching
    # An exact name is one model (the catalog's own spelling); a glob counts every match.
    assert count == (len(matching) if is_glob(pattern) else 1)


@st.composite
def catalog_with_pick(draw):
    """A family's catalog (plus strangers), a pattern, and the picked model's parts."""
    family = draw(st.sampled_from(FAMILIES))
    own = draw(st.lists(models(family), min_size=1, max_size=8))
    strangers = draw(st.lists(models(), max_size=4))
    pattern = draw(patterns_for(family))
    by_id = {m.render(): m for m in own + strangers}
    picked = newest_match(pattern, list(by_id))
    assume(picked is not None)
    return list(by_id), pattern, by_id[picked]


def _older_versions(model: Model) -> list[Model]:
    version = list(model.normalized)
    out = []
    for i in range(len(version)):
        if version[i] > 0:
            lowered = version[:i] + [version[i] - 1] + version[i + 1 :]
            out.append(replace(model, version=tuple(lowered), seps=model.seps[: len(lowered) - 1]))
    if len(version) > 1:
        out.append(replace(model, version=tuple(version[:-1]), seps=model.seps[: len(version) - 2]))
    return out


def _older_same_version(model: Model, pattern: str) -> list[Model]:
    named = {w for w in pattern.lower().replace("*", "-").replace("?", "-").split("-") if w}
    out = []
    extra = next((v for v in VARIANTS if v not in named and v not in model.variants), None)
    if extra is not None:
        out.append(replace(model, variants=model.variants + (extra,)))  # a variant of the base
    if not model.stamp:
        out.append(replace(model, stamp="-20240101"))  # a dated snapshot of the moving alias
    elif model.stamp[1:].isdigit() and len(model.stamp) == 9:
        out.append(replace(model, stamp="-20200101"))  # an older snapshot
    return out


@CI
@given(catalog_with_pick(), st.data())
def test_adding_an_older_model_never_changes_the_pick(case, data) -> None:
    ids, pattern, picked = case
    older = _older_versions(picked) + _older_same_version(picked, pattern)
    assume(older)
    extra = data.draw(st.sampled_from(older)).render()
    assume(extra.lower() not in {i.lower() for i in ids})
    if glob_matches(pattern, extra):
        assert newer(pattern, picked.render(), extra)
    assert newest_match(pattern, [*ids, extra]) == picked.render()


@CI
@given(catalog_with_pick(), st.integers(0, 1), st.integers(0, 3))
def test_adding_a_strictly_newer_base_model_always_changes_the_pick(case, bump, casing) -> None:
    ids, pattern, picked = case
    version = list(picked.normalized) or [0]
    position = 0 if bump == 0 else len(version) - 1
    version[position] += 1
    named = tuple(v for v in picked.variants if v in pattern.lower())  # the pattern's own words
    newer_base = Model(picked.family, tuple(version), picked.seps[: len(version) - 1] or ("-",) * (len(version) - 1),
                       named, "", casing)
    candidate = newer_base.render()
    assume(glob_matches(pattern, candidate))
    assume(candidate.lower() not in {i.lower() for i in ids})
    assert version_key(candidate).version > version_key(picked.render()).version
    assert newest_match(pattern, [*ids, candidate]) == candidate


@pytest.mark.parametrize("digits", [4300, 4301, 20000])
def test_a_junk_id_with_a_huge_number_is_ranked_not_raised(digits: int) -> None:
    """Was: ``int()`` of a 4,301+ digit run raised ValueError, so one junk id in a provider's
    catalog made the whole catalog lookup (and the spawn) fail."""
    junk = "gpt-" + "7" * digits
    assert newest_match("gpt-*", ["gpt-5.2", junk, "gpt-5.1"]) in ("gpt-5.2", junk)
    assert newest_match("gpt-5*", ["gpt-5.2", junk]) == "gpt-5.2"
