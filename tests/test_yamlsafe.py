"""Bounded YAML reading: hostile documents fail fast with a location, ordinary ones load."""

from __future__ import annotations

from pathlib import Path

import pytest

from amplifier_module_model_router.errors import BundleError
from amplifier_module_model_router.yamlsafe import MAX_DEPTH, line_of, load_yaml, read_text


def laughs(levels: int = 10, width: int = 9) -> str:
    """The classic alias bomb: ``width ** levels`` nodes once expanded."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused() -> None:
    with pytest.raises(BundleError, match="too many YAML nodes") as err:
        load_yaml(laughs(), source="bomb.yaml")
    assert err.value.file == "bomb.yaml" and err.value.line is not None


def test_alias_bomb_outside_the_requested_section_is_never_walked() -> None:
    doc = load_yaml(laughs() + "model_router:\n  strict: true\n", source="s.yaml", section="model_router")
    assert doc.data == {"strict": True}


def test_small_aliases_still_work() -> None:
    doc = load_yaml("base: &b {provider: openai, model: x}\nchain: [*b, *b]\n", source="s.yaml")
    assert doc.data["chain"] == [{"provider": "openai", "model": "x"}] * 2


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(BundleError, match="recursive alias"):
        load_yaml("a: &a [1, *a]\n", source="r.yaml")


def test_deep_nesting_is_refused() -> None:
    text = "v: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(BundleError, match="nested deeper"):
        load_yaml(text, source="d.yaml")


def test_nesting_beyond_the_parser_limit_is_a_clean_error() -> None:
    with pytest.raises(BundleError, match="invalid YAML"):
        load_yaml("[" * 100_000 + "]" * 100_000, source="d.yaml")


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 2_000_000 + "\n")
    with pytest.raises(BundleError, match="larger than") as err:
        read_text(path)
    assert err.value.file == str(path)


def test_non_utf8_and_directories_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("strict: ja\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(BundleError, match="UTF-8"):
        read_text(path)
    with pytest.raises(BundleError, match="directory"):
        read_text(tmp_path)


def test_merge_keys_explicit_keys_win() -> None:
    doc = load_yaml("d: &d {a: 1, b: 2}\ne:\n  <<: *d\n  b: 3\n", source="m.yaml")
    assert doc.data["e"] == {"a": 1, "b": 3}


def test_duplicate_keys_are_refused_with_line() -> None:
    with pytest.raises(BundleError, match="duplicate key 'a'") as err:
        load_yaml("a: 1\nb: 2\na: 3\n", source="dup.yaml")
    assert err.value.line == 3


@pytest.mark.parametrize(
    "text",
    ["a: !!python/object:os.system {}\n", "a: !!set {x, y}\n", "a: !custom [1]\n", "a: !!python/name:os.system ''\n"],
)
def test_non_plain_tags_are_refused(text: str) -> None:
    with pytest.raises(BundleError):
        load_yaml(text, source="t.yaml")


def test_several_documents_are_refused() -> None:
    with pytest.raises(BundleError, match="invalid YAML"):
        load_yaml("a: 1\n---\nb: 2\n", source="two.yaml")


def test_lines_are_recorded_for_keys_and_items() -> None:
    text = "model_router:\n  tiers:\n    fast:\n      - provider: openai\n        model: x\n      - base\n"
    doc = load_yaml(text, source="l.yaml", section="model_router")
    assert doc.lines["model_router.tiers.fast"] == 3
    assert doc.lines["model_router.tiers.fast[0].model"] == 5
    assert doc.lines["model_router.tiers.fast[1]"] == 6
    assert line_of(doc.lines, "model_router.tiers.fast[0].config.api_key") == 4
    assert line_of(doc.lines, "elsewhere") is None


def test_section_of_a_non_mapping_document_is_an_error() -> None:
    with pytest.raises(BundleError, match="mapping at the top"):
        load_yaml("- a\n- b\n", source="list.yaml", section="model_router")
    assert load_yaml("", source="empty.yaml", section="model_router").data is None
