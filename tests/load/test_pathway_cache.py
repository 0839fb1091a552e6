"""The checked-pathway cache: a hit skips the YAML parse and schema pass, anything else is checked in full."""

from __future__ import annotations

import os
import stat

import pytest

from backpath.core.errors import PathwayError
from backpath.load import loader, pathway_cache, yamlio
from tests.conftest import FIXTURES


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BACKPATH_CACHE_DIR", str(folder))
    monkeypatch.delenv("BACKPATH_CACHE", raising=False)
    return folder


@pytest.fixture
def pathway_file(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_bytes((FIXTURES / "mini.yaml").read_bytes())
    return path


def no_yaml(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the YAML was parsed")

    monkeypatch.setattr(yamlio, "load_yaml", fail)  # the loader imports it when it parses


def test_a_second_load_comes_from_the_cache_and_is_the_same(cache, pathway_file, monkeypatch):
    first = loader.load_pathway(pathway_file)
    entries = list((cache / "pathways").iterdir())
    assert len(entries) == 1
    assert stat.S_IMODE(entries[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((cache / "pathways").stat().st_mode) == 0o700
    no_yaml(monkeypatch)
    second = loader.load_pathway(pathway_file)
    assert second.sha256 == first.sha256 and second.rules == first.rules and second.questions == first.questions
    import backpath

    answers = {"age": 40, "weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "low"}
    assert backpath.assess(second, answers) == backpath.assess(first, answers)


def test_an_edited_pathway_is_checked_in_full(cache, pathway_file, monkeypatch):
    loader.load_pathway(pathway_file)
    text = pathway_file.read_text(encoding="utf-8")
    pathway_file.write_text(text.replace("when: '\"saddle\" in flags'", "when: '\"sadle\" in flags'"))
    with pytest.raises(PathwayError, match="sadle"):
        loader.load_pathway(pathway_file)


def test_a_tampered_or_broken_cache_entry_is_ignored(cache, pathway_file):
    loader.load_pathway(pathway_file)
    (entry,) = (cache / "pathways").iterdir()
    for content in ("not json", '{"format": 1, "document": {"id": 3}}', '{"format": 99, "document": {}}', "[]"):
        entry.write_text(content)
        assert loader.load_pathway(pathway_file).id == "mini"


def test_a_pathway_whose_only_warning_is_the_builders_is_cached(cache, tmp_path, monkeypatch):
    """A file named other than its pathway's id gets the builder's warning, which the builder gives again from
    the cached document: it is cached, and its second load skips the YAML and is the same."""
    renamed = tmp_path / "other-name.yaml"  # the id differs from the file name: a warning
    renamed.write_bytes((FIXTURES / "mini.yaml").read_bytes())
    _, findings, _ = loader.check_pathway_document(renamed.read_bytes(), str(renamed), stem=renamed.stem)
    assert [f.code for f in findings] == ["id-file-name"]
    first = loader.load_pathway(renamed)
    assert len(list((cache / "pathways").iterdir())) == 1
    no_yaml(monkeypatch)
    second = loader.load_pathway(renamed)
    assert second.sha256 == first.sha256 and second.rules == first.rules and second.questions == first.questions


def test_a_pathway_with_a_warning_of_the_yaml_reader_is_not_cached(cache, tmp_path):
    """The YAML reader's warnings (an unquoted `no`) are not given again from a cached JSON document: that
    pathway is checked in full at every load."""
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace("title: Mini test pathway", "title: no", 1), encoding="utf-8")
    _, findings, _ = loader.check_pathway_document(path.read_bytes(), str(path), stem=path.stem)
    assert [f.code for f in findings] == ["yaml-bool-word"]
    loader.load_pathway(path)
    assert not (cache / "pathways").exists() or not list((cache / "pathways").iterdir())


def test_the_cache_can_be_switched_off_and_an_unwritable_one_costs_nothing(cache, pathway_file, monkeypatch):
    monkeypatch.setenv("BACKPATH_CACHE", "off")
    loader.load_pathway(pathway_file)
    assert not cache.exists()
    monkeypatch.delenv("BACKPATH_CACHE")
    cache.write_text("a file where the folder should be")
    assert loader.load_pathway(pathway_file).id == "mini"


def test_the_key_covers_version_schema_and_bytes():
    base = pathway_cache.key(b"x", b"schema")
    assert pathway_cache.key(b"y", b"schema") != base
    assert pathway_cache.key(b"x", b"other schema") != base
    assert pathway_cache.key(b"x", b"schema") == base
    assert len(base) == 64 and os.sep not in base
