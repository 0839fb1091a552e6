"""Strict YAML: data only, with positions, and every trap of YAML 1.1 reported."""

from __future__ import annotations

import time

import pytest

from backpath.load.yamlio import load_yaml


def test_positions_are_one_based_lines_and_columns():
    loaded = load_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert loaded.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert loaded.positions[("b", 1, "c")] == (4, 6)
    assert loaded.position(("b", 1, "c", "deeper")) == (4, 6)


def test_yes_no_stay_text_with_a_warning_and_dates_stay_text():
    loaded = load_yaml("a: yes\nb: 'no'\nc: 2024-01-02\nd: true\n", "f.yaml")
    assert loaded.data == {"a": "yes", "b": "no", "c": "2024-01-02", "d": True}
    [finding] = loaded.findings
    assert finding.severity == "warning" and finding.line == 1 and "quote it" in finding.message


def test_numbers_only_yaml_1_1_reads_are_errors_that_say_what_they_were_read_as():
    text = "a: 010\nb: 1:30\nc: 0b11\nd: 1_000\n'010': x\ne: 10\nf: -2.5e+3\ng: 0x1F\nh: .inf\ni: '010'\nj: 0\n"
    loaded = load_yaml(text, "f.yaml")
    assert loaded.data == {"a": 8, "b": 90, "c": 3, "d": 1000, "010": "x", "e": 10, "f": -2500.0, "g": 31,
                           "h": float("inf"), "i": "010", "j": 0}
    found = {f.line: f for f in loaded.findings}
    assert sorted(found) == [1, 2, 3, 4]
    assert all(f.code == "yaml-number" and f.severity == "error" for f in found.values())
    assert "read as the number 8 (YAML 1.1, octal)" in found[1].message and "quote" in found[1].message
    assert "90 (YAML 1.1, base 60)" in found[2].message
    assert "binary" in found[3].message and "`_` separators" in found[4].message
    [key] = load_yaml("010: x\n", "f.yaml").findings  # a key too
    assert key.code == "yaml-number" and key.line == 1


def test_duplicate_keys_are_errors_with_both_lines():
    loaded = load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    [finding] = loaded.findings
    assert finding.code == "yaml-duplicate-key" and finding.line == 3 and "first at line 1" in finding.message


def test_python_tags_are_reported_and_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {marker}']\n"
    loaded = load_yaml(text, "evil.yaml")
    assert any(f.code == "yaml-tag" and f.line == 1 for f in loaded.findings)
    assert not marker.exists()


def test_alias_bomb_fails_fast():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    start = time.perf_counter()
    loaded = load_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert time.perf_counter() - start < 10
    assert loaded.data is None and loaded.findings[0].code == "yaml-too-large"


def test_syntax_error_names_the_line():
    loaded = load_yaml("a: [1, 2\nb: 3\n", "bad.yaml")
    finding, opened = loaded.findings
    assert finding.code == "yaml-syntax" and finding.line is not None and "YAML syntax error" in finding.message
    assert (opened.code, opened.severity, opened.line, opened.column) == ("yaml-syntax-opened", "note", 1, 4)


@pytest.mark.parametrize("text,error_at,opened_at,words", [
    ("a: 1\nb: [1, 2\nc: 3\nd: 4\n", (3, 2), (2, 4), "the list `[` opened at line 2, column 4 is not closed"),
    ("a: 1\nrules:\n  - {id: x, when: y\n  - {id: z}\n", (4, 5), (3, 5),
     "the mapping `{` opened at line 3, column 5 is not closed"),
    ('a: 1\nb: "abc\nc: 3\nd: 4\n', (5, 1), (2, 4), 'the quote " opened at line 2, column 4 is never closed'),
    ("a: 1\nb: 'abc\nc: 3\n", (4, 1), (2, 4), "the quote ' opened at line 2, column 4 is never closed"),
])
def test_an_unclosed_bracket_or_quote_is_reported_where_it_opened(text, error_at, opened_at, words):
    """The parser notices an unclosed bracket or quote lines later; the finding says where it opened, and a
    note sits on that line (so `--format github` shows it there)."""
    error, note = load_yaml(text, "bad.yaml").findings
    assert (error.line, error.column) == error_at and words in error.message
    assert error.details == {"opened_at": {"line": opened_at[0], "column": opened_at[1]}}
    assert (note.line, note.column, note.severity) == (*opened_at, "note")


def test_a_broken_block_names_the_line_where_the_block_starts():
    [error] = load_yaml("rules:\n  - id: a\n    when: x\n   tier: y\n", "bad.yaml").findings
    assert error.line == 4 and "The block that starts at line 2 (`- id: a`)" in error.message


def test_a_tab_in_the_indentation_is_named():
    [error] = load_yaml("a:\n\tb: 1\n", "bad.yaml").findings
    assert error.line == 2 and "tab" in error.message


def test_empty_file():
    assert load_yaml("", "e.yaml").findings[0].code == "yaml-empty"


def test_absurd_nesting_and_numbers_are_findings_not_crashes():
    deep = load_yaml("x: " + "[" * 3000 + "]" * 3000 + "\n", "p.yaml")
    # libyaml's own depth limit reports a syntax error; without it, Python's recursion limit is reported
    assert deep.data is None and [f.code for f in deep.findings] in (["yaml-too-large"], ["yaml-syntax"])
    huge = load_yaml("x: " + "9" * 5000 + "\n", "p.yaml")
    assert huge.data is None and [f.code for f in huge.findings] == ["yaml-too-large"]


def test_an_apostrophe_in_plain_text_is_not_taken_for_an_open_quote():
    from backpath.load.yaml_syntax import _open_quote

    text = "a:\n  - reason: don't do it\n    when: 'x' and it's ok\n    note: \"open\n"
    assert _open_quote(text, 1, 4) == (4, 11, '"')
