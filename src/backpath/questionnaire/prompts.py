"""The interactive questionnaire on a terminal: show a question, read a line, repeat.

Everything it decides comes from `questionnaire.py`; this module only talks to the person. It writes to a
stderr console (stdout is kept for the recommendation) and reads plain lines, so it works through a pipe of
keystrokes, a pseudo-terminal or a screen reader alike. Meaning is always in words, never in colour alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from backpath.core import engine
from backpath.core.model import Pathway, Question
from backpath.questionnaire.flow import (
    BACK_WORDS,
    HELP_WORDS,
    Emergency,
    Session,
    emergencies,
    input_hint,
    parse_answer,
    show_value,
)
from backpath.system.signals import raise_on_termination

ReadLine = Callable[[], str]

COMPLETE, STOPPED, INTERRUPTED, END_OF_INPUT = "complete", "stopped", "interrupted", "end_of_input"


@dataclass
class Outcome:
    """How the questionnaire ended, and the session with every answer given so far."""

    status: str  # complete | stopped (at an emergency) | interrupted (Ctrl-C) | end_of_input
    session: Session
    emergencies: list[Emergency] = field(default_factory=list)


class _Back(Exception):
    """The person asked to go back."""


class _Stop(Exception):
    """The person chose to stop at an emergency."""


def read_stdin_line() -> str:
    """One line from stdin; bytes that are not valid text become \ufffd (and so a wrong answer, not a crash)."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is not None:
        data = raw.readline()
        line = data.decode(sys.stdin.encoding or "utf-8", errors="replace")
    else:
        line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def lines_from(inputs: Iterable[str]) -> ReadLine:
    """A ReadLine over scripted input (for tests); EOFError when it runs out."""
    it: Iterator[str] = iter(inputs)

    def read() -> str:
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    return read


class Questionnaire:
    def __init__(self, pathway: Pathway, given: dict[str, Any] | None, console: Console,
                 read_line: ReadLine = read_stdin_line, source: str | None = None):
        self.pathway = pathway
        self.session = Session.start(pathway, given)
        self.console = console
        self.read_line = read_line
        self.source = source
        self.history: list[str] = []  # questions answered in this session, in order, for `back`
        self.shown_section: str | None = None
        self.shown_intros: set[str] = set()  # a section's introduction is shown once
        self.shown_attribution: str | None = None
        self.licensed: set[str] = set()  # attributions shown in full: once a session
        self.shown_scores: dict[str, Any] = {}  # scores shown at the end of a section, with their value
        self.announced: set[str] = set()

    # --- the flow ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            self.intro()
            self.check_emergencies()
            current = self.session.next_question(None)
            reviewed = False  # once the review screen has been shown, every answer returns to it
            while True:
                if current is None:
                    reviewed = True
                    current = self.review()
                    if current is None:
                        return Outcome(COMPLETE, self.session, emergencies(self.pathway, self.session.answers))
                    continue
                try:
                    self.ask(current, can_go_back=self.has_previous(current.id))
                except _Back:
                    current = self.previous(current.id) or current
                    continue
                if current.id in self.history:
                    self.history.remove(current.id)
                self.history.append(current.id)
                self.check_emergencies()
                answered, current = current, self.session.next_question(current.id, only_unsettled=reviewed)
                if current is None or self.session.section_of(current.id)[0] != self.session.section_of(
                        answered.id)[0]:
                    self.show_new_scores()
        except _Stop:
            return Outcome(STOPPED, self.session, emergencies(self.pathway, self.session.answers))
        except KeyboardInterrupt:
            self.newline()
            return Outcome(INTERRUPTED, self.session)
        except EOFError:
            self.newline()
            return Outcome(END_OF_INPUT, self.session)

    def newline(self) -> None:
        try:
            self.console.print()
        except OSError:  # the terminal has gone (SIGHUP); the answers are still saved
            pass

    def intro(self) -> None:
        p = self.pathway
        c = self.console
        first = self.session.next_question(None)
        about = 0
        if first:
            progress = self.session.progress(first.id)
            assert progress is not None  # the next question applies and is visited, so it is counted
            about = progress[1]
        c.print(Text(f"{p.title} (pathway {p.id} {p.version})", style="bold"))
        if self.session.preset:
            c.print(Text(f"Starting from {len(self.session.answers)} answers in {self.source or 'the answers file'};"
                         f" about {about} question{'s' if about != 1 else ''} to go."))
        else:
            sections = len(p.sections)
            c.print(Text(f"About {about} questions in {sections} section{'s' if sections != 1 else ''}."))
        c.print(Text("Type ? for help with a question, b to go back. Ctrl-C stops and saves your answers."))

    def has_previous(self, qid: str | None) -> bool:
        status = self.session.applicability()
        return any(prev != qid and status[prev] for prev in self.history)

    def previous(self, qid: str | None) -> Question | None:
        """The question answered before `qid` that still applies (dropping later history), or None."""
        status = self.session.applicability()
        while self.history:
            prev = self.history.pop()
            if prev != qid and status[prev]:
                return self.pathway.questions[prev]
        return None

    def review(self) -> Question | None:
        """The review screen, a page at a time when the answers are taller than the terminal. Returns a question
        to change, or None when the answers are confirmed."""
        c = self.console
        page = 0
        while True:
            missing = self.session.first_unsettled()
            if missing is not None:
                return missing
            items = self.session.review_items()
            pages = review_pages(self.session, items, c.width, max(c.height - 4, 8))
            page = min(page, len(pages) - 1)
            last = page == len(pages) - 1
            c.print()
            c.print(Text(f"Review: {len(items)} answers" + (f", page {page + 1} of {len(pages)}" if len(pages) > 1
                                                            else ""), style="bold"))
            c.print(review_list(self.session, items, c.width, pages[page]))
            turn = "p for the previous page, " if page else ""
            if last:
                c.print(Text(f"Type a number to change that answer, {turn}b to go back to the last question, or "
                             "press Enter to see the recommendation."))
            else:
                c.print(Text(f"Type a number to change that answer, {turn}b to go back to the last question, or "
                             "press Enter for the next page."))
            while True:
                text = self.prompt().strip().lower()
                if not text or text in ("n", "next"):
                    if last:
                        if not text:
                            return None
                        c.print(Text("This is the last page; press Enter to see the recommendation."))
                        continue
                    page += 1
                    break
                if text in ("p", "previous") and page:
                    page -= 1
                    break
                if text in BACK_WORDS:
                    return self.previous(None) or items[-1]
                if text.isdigit() and 1 <= int(text) <= len(items):
                    self.change(items[int(text) - 1])
                    break
                c.print(Text(f"Not accepted: type a number from 1 to {len(items)}, b, or press Enter."))

    def show_new_scores(self) -> None:
        """At the end of a section: the scores that became known, or changed, with it (STarT Back after its
        nine items), by title, with the range and the risk group."""
        from backpath.present.summary import scores_line

        facts = engine.compute_facts(self.pathway, self.session.answers)
        new = {s.id: facts.get(s.id) for s in self.pathway.scores
               if facts.get(s.id) is not None and self.shown_scores.get(s.id) != facts.get(s.id)}
        if not new:
            return
        self.shown_scores.update(new)
        self.console.print()
        self.console.print(Text("Scores so far", style="bold"))
        for part in scores_line(new, self.pathway).split("; "):
            self.console.print(Text(f"  {part}"))

    def change(self, q: Question) -> None:
        """Change one answer from the review screen, then ask whatever that change makes apply."""
        try:
            self.ask(q, changing=True)
        except _Back:
            return
        self.check_emergencies()
        while (pending := self.session.first_unsettled()) is not None:
            try:
                self.ask(pending)
            except _Back:
                return
            self.check_emergencies()

    # --- one question --------------------------------------------------------------------------

    def ask(self, q: Question, *, changing: bool = False, can_go_back: bool = True) -> None:
        """Show `q` and read lines until one is an answer (or raise _Back)."""
        self.show_question(q, changing=changing)
        had = q.id in self.session.answers or q.id in self.session.skipped
        while True:
            text = self.prompt()
            word = text.strip().lower()
            if word in HELP_WORDS:
                self.show_help(q)
                continue
            if word in BACK_WORDS:
                if can_go_back:
                    raise _Back
                self.console.print(Text("This is the first question; there is nothing to go back to."))
                continue
            if not word and had:
                return  # Enter keeps the current answer
            parsed = parse_answer(q, text)
            if parsed.error:
                self.console.print(Text(f"Not accepted: {parsed.error}"))
                continue
            dropped = self.session.skip(q.id) if parsed.skip else self.session.answer(q.id, parsed.value)
            if dropped:
                names = "; ".join(self.pathway.questions[d].prompt for d in dropped)
                self.console.print(Text(f"No longer asked, answer removed: {names}"))
            return

    def show_question(self, q: Question, *, changing: bool = False) -> None:
        c = self.console
        number, title, intro = self.session.section_of(q.id)
        if title != self.shown_section:
            self.shown_section = title
            c.print()
            c.print(Text(f"Section {number} of {len(self.pathway.sections)}: {title}", style="bold underline"))
            if intro and title not in self.shown_intros:
                self.shown_intros.add(title)
                c.print(Text(intro))
        c.print()
        progress = self.session.progress(q.id)
        if changing:
            c.print(Text("Changing an answer", style="bold"))
        elif progress:
            c.print(Text(f"Question {progress[0]} of about {progress[1]}", style="bold"))
        c.print(Text(q.prompt, style="bold"))
        if q.attribution:
            attribution = next((a for a in self.pathway.attributions if a.id == q.attribution), None)
            if attribution is not None:
                if attribution.id not in self.licensed:
                    self.licensed.add(attribution.id)
                    c.print(Text(f"{attribution.title}. {attribution.text}", style="italic"))
                else:
                    c.print(Text(f"From the {attribution.title}.", style="italic"))
        self.shown_attribution = q.attribution
        if q.options:
            c.print(option_list(q))
        hint = input_hint(q)
        if q.id in self.session.answers:
            hint += f" Enter keeps: {show_value(q, self.session.answers[q.id])}."
        elif q.id in self.session.skipped:
            hint += " Enter keeps it unanswered."
        elif not q.required:
            hint += " Optional: Enter skips it."
        c.print(Text(hint))

    def show_help(self, q: Question) -> None:
        c = self.console
        c.print(Text(f"Help: {q.prompt}", style="bold"))
        c.print(Text(q.help or "No further help for this question."))
        if q.options:
            c.print(option_list(q, details=True))
        c.print(Text(f"Question id: {q.id}; {'required' if q.required else 'optional'}. {input_hint(q)}"))
        c.print(Text("Type b to go back to the previous question; Ctrl-C stops and saves your answers."))

    def prompt(self) -> str:
        self.console.print("> ", end="", markup=False, highlight=False)
        self.console.file.flush()
        return self.read_line()

    # --- emergencies ---------------------------------------------------------------------------

    def check_emergencies(self) -> None:
        """Show a banner for each newly-raised emergency and offer to stop there (raises _Stop)."""
        current = emergencies(self.pathway, self.session.answers)
        new = [e for e in current if e.rule.id not in self.announced]
        self.announced = {e.rule.id for e in current}
        if not new:
            return
        self.console.print()
        self.console.print(emergency_banner(new))
        self.console.print(Text("Type c to continue the questionnaire, or s to stop here and see the advice now."))
        while True:
            word = self.prompt().strip().lower()
            if word in ("c", "continue"):
                return
            if word in ("s", "stop"):
                raise _Stop
            self.console.print(Text("Not accepted: type c to continue or s to stop."))


def option_list(q: Question, *, details: bool = False) -> Table:
    """The numbered options; wrapped lines stay indented under their label. `details` adds ids and help."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=len(str(len(q.options))) + 3, justify="right", no_wrap=True)
    grid.add_column()
    for n, o in enumerate(q.options, 1):
        label = o.label
        if details:
            label += f" (id: {o.id})" + (f" - {o.help}" if o.help else "")
        grid.add_row(f"{n}.", Text(label))
    return grid


def review_list(session: Session, items: list[Question], width: int, numbers: range | None = None) -> Group:
    """The answers numbered `numbers` (all by default), under their section titles: the question (cut to one
    line) and the answer."""
    numbers = numbers if numbers is not None else range(len(items))
    num_w = len(str(len(items))) + 1
    prompt_w = min(max((len(q.prompt) for q in items), default=12), max(12, (width - num_w - 2) * 3 // 5))
    parts: list[Table | Text] = []
    grid = None
    section = None
    for n in numbers:
        q = items[n]
        _, title, _ = session.section_of(q.id)
        if title != section:
            section = title
            parts.append(Text(title, style="bold underline"))
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=num_w, justify="right", no_wrap=True)
            grid.add_column(width=prompt_w, no_wrap=True, overflow="ellipsis")
            grid.add_column()
            parts.append(grid)
        answered = q.id in session.answers
        shown = show_value(q, session.answers[q.id]) if answered else "skipped"
        assert grid is not None  # made at the first question: a section title is text, never the initial None
        grid.add_row(f"{n + 1}.", Text(q.prompt), Text(shown, style="bold"))
    return Group(*parts)


def review_pages(session: Session, items: list[Question], width: int, height: int) -> list[range]:
    """The review split into pages of at most `height` lines at `width` columns (a page has at least one
    answer, however tall)."""
    from backpath.present.summary import count_lines

    pages: list[range] = []
    start = 0
    while start < len(items):
        stop = start + 1
        while stop < len(items) and count_lines(review_list(session, items, width, range(start, stop + 1)),
                                                width) <= height:
            stop += 1
        pages.append(range(start, stop))
        start = stop
    return pages or [range(0)]


def emergency_banner(found: list[Emergency], title: str = "EMERGENCY") -> Panel:
    """The emergency advice: in words first (EMERGENCY), colour only as emphasis."""
    lines: list[Text] = []
    for e in found:
        if lines:
            lines.append(Text())
        lines.append(Text(f"EMERGENCY: {e.tier_title}", style="bold"))
        lines.append(Text(e.reason))
        for r in e.referrals:
            lines.append(Text(r))
        if e.safety_net:
            lines.append(Text(f"Advice: {e.safety_net}"))
    return Panel(Group(*lines), title=title, title_align="left", border_style="bold red")


def emergency_advice_markdown(found: list[Emergency]) -> str:
    """The emergency advice for the patient record, when the questionnaire stopped before a full assessment."""
    md = []
    for e in found:
        md += [f"# EMERGENCY: {e.tier_title}", "", e.reason, ""]
        md += [f"- {r}" for r in e.referrals]
        if e.safety_net:
            md.append(f"- **Advice:** {e.safety_net}")
        md.append("")
    md.append("_The questionnaire was stopped at this emergency; the other answers were not assessed._")
    return "\n".join(md) + "\n"


def run_questionnaire(pathway: Pathway, given: dict[str, Any] | None, *, console: Console | None = None,
                      read_line: ReadLine = read_stdin_line, source: str | None = None) -> Outcome:
    """Ask what is missing from `given` on the terminal; see `Outcome` for how it ended."""
    console = console or Console(stderr=True, highlight=False)
    with raise_on_termination(lambda signum: KeyboardInterrupt()):
        return Questionnaire(pathway, given, console, read_line, source).run()
