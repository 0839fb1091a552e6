"""Manual check (not collected by pytest): the Questionnaire in a real renderer, LHC-Forms, in headless Chromium.

For each chosen case of pathways/low-back-pain.cases.yaml it loads `backpath questions --format fhir` into
LHC-Forms with the case's answers as initial values (as if typed), lets LHC-Forms run the skip logic and the
score calculations, exports the QuestionnaireResponse with `LForms.Util.getFormFHIRData`, and checks that backpath
reads back the same answers (a multi-choice answer as a set), that LHC-Forms' STarT Back scores equal backpath's,
and that the decisions are the same (tier, each item with its strength and rules, scores, red flags). Needs
Debian's `chromium` and the `lforms` npm package unpacked:

    apt-get install -y chromium
    npm pack lforms@40.1.3 && mkdir lforms && tar xzf lforms-40.1.3.tgz -C lforms
    python tests/renderer/lhc_forms_check.py lforms/package/dist/lforms [CASE_NAME...]

It prints one line a case and exits 1 if any differs.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from backpath import load_pathway
from backpath.core import engine
from backpath.fhir.questionnaire import build_questionnaire
from backpath.fhir.response import read_response

ROOT = Path(__file__).resolve().parents[2]
SCORES = ("startback_total", "startback_psychosocial", "startback_risk")
PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="lforms/webcomponent/styles.css"></head><body>
<div id="f"></div><pre id="out"></pre><pre id="err"></pre>
<script src="lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="lforms/webcomponent/runtime.js"></script>
<script src="lforms/webcomponent/polyfills.js"></script>
<script src="lforms/webcomponent/main.js"></script>
<script src="lforms/fhir/R4/lformsFHIR.min.js"></script>
<script src="data.js"></script>
<script>
window.addEventListener('load', async () => {
  for (let i = 0; i < 100 && !(window.LForms && LForms.Util && LForms.Util.addFormToPage); i++)
    await new Promise(r => setTimeout(r, 100));
  try {
    await LForms.Util.addFormToPage(Q, 'f', {fhirVersion: 'R4'});
    setTimeout(() => {
      try {
        const out = LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', 'f');
        document.getElementById('out').textContent = JSON.stringify(out);
      } catch (e) { document.getElementById('err').textContent = 'export: ' + e; }
    }, 3000);
  } catch (e) { document.getElementById('err').textContent = 'load: ' + e; }
});
</script></body></html>"""


def with_initial(questionnaire: dict, answers: dict) -> dict:
    """The Questionnaire with `answers` as initial values (answerOption.initialSelected for choices)."""
    q = json.loads(json.dumps(questionnaire))

    def walk(items):
        for item in items:
            value = answers.get(item["linkId"])
            if value is not None and not item.get("readOnly"):
                if item["type"] == "choice":
                    chosen = (value if isinstance(value, list) else [value]) or ["none"]
                    for option in item["answerOption"]:
                        if option["valueCoding"]["code"] in chosen:
                            option["initialSelected"] = True
                else:
                    key = {"boolean": "valueBoolean", "integer": "valueInteger", "decimal": "valueDecimal"}
                    item["initial"] = [{key[item["type"]]: value}]
            walk(item.get("item", []))

    walk(q["item"])
    return q


def render(lforms: Path, questionnaire: dict, work: Path) -> dict:
    if not (work / "lforms").exists():
        shutil.copytree(lforms, work / "lforms")
    (work / "data.js").write_text(f"window.Q={json.dumps(questionnaire)};\n", encoding="utf-8")
    (work / "page.html").write_text(PAGE, encoding="utf-8")
    dom = subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                          "--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom",
                          (work / "page.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    err = re.search(r'<pre id="err">(.*?)</pre>', dom, re.S)
    if err and err.group(1).strip():
        raise RuntimeError(html.unescape(err.group(1)))
    out = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    return json.loads(html.unescape(out.group(1)))


def scores_of(response: dict) -> dict:
    found = {}

    def walk(items):
        for item in items:
            if item["linkId"] in SCORES and item.get("answer"):
                value = item["answer"][0]
                found[item["linkId"]] = value.get("valueInteger", value.get("valueCoding", {}).get("display"))
            walk(item.get("item", []))

    walk(response.get("item", []))
    return found


def _decisions(result: dict) -> tuple:
    items = [(r["id"], r.get("strength"), [x["rule"] for x in r["reasons"]])
             for r in result["recommendations"] + result["not_recommended"]]
    return result["tier"], items, result["scores"], sorted(result["red_flags"])


def _as_sets(answers: dict) -> dict:
    return {k: (sorted(v) if isinstance(v, list) else v) for k, v in answers.items()}


def main(argv: list[str]) -> int:
    lforms, names = Path(argv[0]), set(argv[1:])
    pathway = load_pathway("low-back-pain")
    questionnaire = build_questionnaire(pathway)
    cases = yaml.safe_load((ROOT / "pathways" / "low-back-pain.cases.yaml").read_text(encoding="utf-8"))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases["cases"]:
            if names and case["name"] not in names:
                continue
            answers = {**cases["base_answers"], **case.get("answers", {})}
            for key in case.get("remove", []):
                answers.pop(key, None)
            result = engine.assess(pathway, answers)
            if result["status"] != "ok":
                continue
            exported = render(lforms, with_initial(questionnaire, answers), Path(tmp))
            _, back = read_response(pathway, exported)
            # LHC-Forms leaves out answers to disabled items, as backpath ignores them
            asked = {k: v for k, v in answers.items() if not any(w.get("path") == f"answers.{k}"
                                                                for w in result["warnings"])}
            # a multi-choice answer is a set: LHC-Forms gives the options in the form's order
            same_answers = _as_sets(back) == _as_sets(asked)
            again = engine.assess(pathway, back)
            # the decisions; `because` lists follow the order the options were read in, so bytes may differ
            same_result = _decisions(again) == _decisions(result)
            want = {k: (v.capitalize() if isinstance(v, str) else v) for k, v in result["scores"].items()
                    if k in SCORES}
            same_scores = scores_of(exported) == want
            ok = same_answers and same_result and same_scores
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {case['name']}: answers {same_answers}, scores {scores_of(exported)} "
                  f"(backpath {want}), decisions {same_result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
