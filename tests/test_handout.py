"""The patient handout (`assess --handout`): plain language on every clinical case (Flesch reading ease 60 or
more, at most 900 words, no ids or codes), one part per option in the plan, every option asked about answered,
the safety-net; HTML that is one self-contained printable page, at most two A4 pages in a real browser engine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

import backpath
from backpath.cli.main import app
from backpath.present.handout import handout, render, to_html

from .conftest import EXAMPLES
from .readability import flesch_reading_ease, syllables, words
from .test_summary import CASES

OK_CASES = [(name, answers) for name, answers in CASES if not name.startswith("error-")]


@pytest.fixture(scope="module")
def results(default_pathway):
    out = {name: backpath.assess(default_pathway, answers) for name, answers in OK_CASES}
    assert all(r["status"] == "ok" for r in out.values())
    return out


def plain_text(markdown: str) -> str:
    return re.sub(r"[#*>_]+|^-+$|^- ", " ", markdown, flags=re.M)


def test_the_readability_helper():
    assert [syllables(w) for w in ("back", "pain", "exercise", "table", "tried", "programme")] == [1, 1, 3, 2, 1, 2]
    assert flesch_reading_ease("The cat sat on the mat.") > 100
    assert flesch_reading_ease("Radiofrequency denervation necessitates fluoroscopic localisation.") < 0


def test_every_case_reads_plainly(default_pathway, results):
    worst = []
    for name, result in results.items():
        text = plain_text(render(result, default_pathway, "markdown"))
        worst.append((flesch_reading_ease(text), len(words(text)), name))
    assert min(worst)[0] >= 60, sorted(worst)[:3]
    assert max(w[1] for w in worst) <= 900, max(worst, key=lambda w: w[1])


def test_no_ids_or_codes(default_pathway, results):
    ids = {r.id for r in default_pathway.rules} | set(default_pathway.catalogue) | {t.id for t in default_pathway.tiers}
    ids |= {q for q in default_pathway.questions} | {s.id for s in default_pathway.scores}
    ids = {i for i in ids if "_" in i or "-" in i}
    for name, result in results.items():
        text = render(result, default_pathway, "markdown")
        assert not {i for i in ids if i in text}, name
        for jargon in ("NG59", "NSAID", "PENS", "STarT", "[INTERP]", "unverified", "tier"):
            assert jargon not in text, (name, jargon)


def test_one_part_per_option_and_every_request_answered(default_pathway, results):
    for name, result in results.items():
        h = handout(result, default_pathway)
        assert len(h.plan) == len(result["recommendations"]), name
        requested = [e for e in result["recommendations"] + result["not_recommended"] if e.get("requested")]
        assert len(h.asked) == len(requested), name
        for part in h.plan:
            assert [p[0] for p in part.paragraphs][:1] == ["What it is"], (name, part.name)
        text = render(result, default_pathway, "markdown")
        assert "999" in text, name  # when to call 999 or go to A&E, in every handout


def test_an_emergency_handout_starts_with_what_to_do_now(default_pathway, results):
    emergencies = [r for r in results.values() if r["tier"] == "emergency"]
    assert emergencies
    for result in emergencies:
        text = render(result, default_pathway, "markdown")
        assert text.splitlines()[2].startswith("> **Get help now.** Go to the emergency department now")


def test_offered_items_have_benefits_and_harms(default_pathway, results):
    """IPDAS: each option in a plan says what it can do and its downsides."""
    for result in results.values():
        for rec in result["recommendations"]:
            plain = default_pathway.catalogue[rec["id"]].plain
            assert plain is not None and plain.benefits and plain.harms, rec["id"]


def test_html_is_one_self_contained_page(default_pathway, results):
    page = render(next(iter(results.values())), default_pathway, "html")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    assert "@media print" in page and "@page" in page
    assert "<script" not in page and "http" not in page and "src=" not in page and "<link" not in page


def test_html_escapes_pathway_text(default_pathway, results):
    result = json.loads(json.dumps(next(iter(results.values()))))
    from backpath.present.handout import Handout, Part

    h = Handout(urgent=None, plan=(Part("<b>x</b>", "a & b", (("What it is", "<script>alert(1)</script>"),)),),
                asked=(("<i>", "\"q\""),), safety_net="1 < 2", review="ok")
    page = to_html(h)
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x" in page and "1 &lt; 2" in page
    assert result["status"] == "ok"


def test_cli_writes_the_handout_and_refuses_other_extensions(tmp_path):
    runner = CliRunner()
    answers = str(EXAMPLES / "answers-chronic-sciatica.json")
    out = tmp_path / "plan.html"
    result = runner.invoke(app, ["assess", "-a", answers, "--handout", str(out), "-f", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "ok"
    assert out.read_text().startswith("<!DOCTYPE html>") and "Handout for the patient written to" in result.stderr
    md = tmp_path / "plan.md"
    assert runner.invoke(app, ["assess", "-a", answers, "--handout", str(md)]).exit_code == 0
    assert md.read_text().startswith("# Your back pain plan")
    bad = runner.invoke(app, ["assess", "-a", answers, "--handout", str(tmp_path / "plan.pdf")])
    assert bad.exit_code == 2 and "neither .html nor .md" in bad.stderr
    assert not (tmp_path / "plan.pdf").exists()


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None and os.environ.get("BACKPATH_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    return found


@pytest.mark.slow
def test_the_longest_handouts_print_on_two_a4_pages(default_pathway, results, tmp_path):
    """Rendered to PDF by headless Chromium: the three longest handouts, and an emergency, fit two A4 pages."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no headless Chromium here (apt-get install chromium)")
    pypdf = pytest.importorskip("pypdf")
    by_length = sorted(results.items(), key=lambda kv: -len(render(kv[1], default_pathway, "markdown")))
    chosen = by_length[:3] + [next(kv for kv in results.items() if kv[1]["tier"] == "emergency")]
    for name, result in chosen:
        page = tmp_path / f"{name}.html"
        page.write_text(render(result, default_pathway, "html"), encoding="utf-8")
        pdf = tmp_path / f"{name}.pdf"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        reader = pypdf.PdfReader(str(pdf))
        assert 1 <= len(reader.pages) <= 2, (name, len(reader.pages))
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842), name  # A4 in points


def test_an_item_without_plain_words_falls_back_to_its_title_and_description(mini_pathway):
    answers = {"age": 40, "weeks": 20, "leg": True, "leg_nrs": 8, "flags": [], "mood": "low", "requests": ["belt"]}
    result = backpath.assess(mini_pathway, answers)
    assert result["status"] == "ok" and result["recommendations"]
    text = render(result, mini_pathway, "markdown")
    for rec in result["recommendations"]:
        assert f"### {rec['title']}" in text
        assert mini_pathway.catalogue[rec["id"]].description in text
