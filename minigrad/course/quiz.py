"""End-of-lesson quizzes: a few questions, each checked with a button and explained.

A lesson package keeps its quiz as data (``minigrad/course/lessonNN/quiz.py``)::

    QUIZ = Quiz("04", [
        Question(
            "Truncated BPTT with chunks of k = 8 over T = 24 steps: which inputs does the "
            "gradient of the loss at step 12 reach?",
            [Choice("inputs 9 to 12", "Right: the state was detached at step 9, ...",
                    correct=True),
             Choice("inputs 1 to 12", "That is full BPTT: ..."),
             ...]),
        NumericQuestion("How many numbers ...?", answer=15_910, tolerance=0,
                        explanation="784 * 20 + 20 + 20 * 10 + 10 ...",
                        mistakes=[(15_880, "You forgot the biases ...")]),
    ])

and the notebook's last cells show it with ``L.QUIZ`` (the last expression of a cell).

* Every choice carries its own explanation: a learner who picks a wrong answer reads *why* it
  is wrong (not only "wrong"), and one who picks the right answer reads why it is right.
* :func:`feedback` is the whole logic: a question and what the learner entered in, a
  :class:`Feedback` (``correct``: True, False or None for "nothing to check yet"; ``text``)
  out. The widgets only call it, so tests set a widget's value, click its button (or call its
  handler) and read the feedback headless, as with the explorers of :mod:`.widgets`.
* With ipywidgets (JupyterLab, Notebook, VS Code) each question is a prompt, radio buttons (or
  a text box for a number), a **Check** button and a feedback line. Without a widget front end
  (ipywidgets missing, a plain Python shell, a notebook rendered as static HTML) the quiz
  shows as plain text, and ``QUIZ.check(1, "b")`` answers question 1 with choice (b) and
  prints the same feedback.

Questions are plain text (Unicode, no LaTeX: radio-button labels do not render math); spans in
backticks are shown as code.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["Choice", "Feedback", "NumericQuestion", "Question", "Quiz", "QuizWidget", "feedback"]

LETTERS = "abcdefgh"
RIGHT, WRONG = "✅ Right.", "❌ Not quite."


@dataclass(frozen=True)
class Choice:
    """One answer of a :class:`Question`: its ``text``, ``why`` it is right or wrong, and
    whether it is the ``correct`` one."""

    text: str
    why: str
    correct: bool = False


@dataclass(frozen=True)
class Question:
    """A single-choice question: a ``prompt`` and its ``choices``, exactly one correct."""

    prompt: str
    choices: tuple[Choice, ...]

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(self.choices))
        n_correct = sum(c.correct for c in self.choices)
        if len(self.choices) < 2 or n_correct != 1:
            raise ValueError(f"a question needs two or more choices, exactly one correct; "
                             f"{self.prompt[:60]!r} has {len(self.choices)} choice(s), "
                             f"{n_correct} correct")
        if len(self.choices) > len(LETTERS):
            raise ValueError(f"at most {len(LETTERS)} choices per question")
        for c in self.choices:
            if not c.text.strip() or not c.why.strip():
                raise ValueError(f"every choice needs a text and an explanation: {c!r}")

    @property
    def answer(self) -> int:
        """Index of the correct choice."""
        return next(i for i, c in enumerate(self.choices) if c.correct)


@dataclass(frozen=True)
class NumericQuestion:
    """A question answered with a number: right when within ``tolerance`` of ``answer``
    (absolute, or relative to ``answer`` when ``relative``). ``mistakes`` are typical wrong
    numbers, each with why it comes out (matched with the same tolerance); any other wrong
    number gets "too high" or "too low" and the ``hint``."""

    prompt: str
    answer: float
    explanation: str
    tolerance: float = 0.0
    relative: bool = False
    mistakes: tuple[tuple[float, str], ...] = field(default_factory=tuple)
    hint: str = ""

    def __post_init__(self):
        object.__setattr__(self, "mistakes", tuple(tuple(m) for m in self.mistakes))
        if not self.explanation.strip():
            raise ValueError("a numeric question needs an explanation")
        for value, _why in self.mistakes:
            if self.matches(value):
                raise ValueError(f"mistake {value} is within the tolerance of the answer")

    def matches(self, value: float, target: float | None = None) -> bool:
        target = self.answer if target is None else target
        tol = self.tolerance * abs(target) if self.relative else self.tolerance
        return abs(value - target) <= tol + 1e-12 * max(1.0, abs(target))


class Feedback(NamedTuple):
    """What a check says: ``correct`` is True, False, or None when there was nothing to check
    (no choice made, not a number); ``text`` is the sentence to show."""

    correct: bool | None
    text: str


def _parse_number(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
    text = text.replace("×10^", "e").replace("x10^", "e").replace("*10**", "e")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _choice_index(question: Question, value) -> int | None:
    """A choice given as its index (0-based int) or letter ("b"); None when it names none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if 0 <= value < len(question.choices) else None
    if isinstance(value, str):
        letter = value.strip().lower().strip("()")
        if len(letter) == 1 and letter in LETTERS[: len(question.choices)]:
            return LETTERS.index(letter)
    return None


def feedback(question: Question | NumericQuestion, value) -> Feedback:
    """The feedback on ``value`` as the answer to ``question``.

    For a :class:`Question`, ``value`` is the chosen index (what the radio buttons hold) or a
    letter; for a :class:`NumericQuestion`, a number or the text typed in its box.
    """
    if isinstance(question, Question):
        index = _choice_index(question, value)
        if index is None:
            letters = ", ".join(LETTERS[: len(question.choices)])
            return Feedback(None, f"Pick one of the answers ({letters}) first.")
        choice = question.choices[index]
        if choice.correct:
            return Feedback(True, f"{RIGHT} {choice.why}")
        return Feedback(False, f"{WRONG} {choice.why} Try another answer.")
    number = _parse_number(value)
    if number is None:
        return Feedback(None, "Type a number first (e.g. 0.5, 1e-3 or 15910).")
    if question.matches(number):
        return Feedback(True, f"{RIGHT} {question.explanation}")
    for wrong, why in question.mistakes:
        if question.matches(number, wrong):
            return Feedback(False, f"{WRONG} {why} Try again.")
    side = "too high" if number > question.answer else "too low"
    hint = f" {question.hint}" if question.hint else ""
    return Feedback(False, f"{WRONG} {number:g} is {side}.{hint} Try again.")


def _code_html(text: str) -> str:
    """Escape ``text`` for HTML, showing `backticked` spans as code."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                   for i, p in enumerate(parts))


class Quiz:
    """A lesson's quiz: ``lesson`` ("04") and its ``questions`` (three to five, by the course's
    convention). Show it as the last expression of a notebook cell; answer in plain Python with
    :meth:`check`."""

    def __init__(self, lesson: str, questions: Sequence[Question | NumericQuestion]):
        self.lesson = lesson
        self.questions = tuple(questions)
        if not self.questions:
            raise ValueError("a quiz needs questions")
        for q in self.questions:
            if not isinstance(q, (Question, NumericQuestion)):
                raise TypeError(f"not a question: {q!r}")

    @property
    def title(self) -> str:
        return f"Quiz: lesson {self.lesson}"

    def check(self, number: int, answer) -> Feedback:
        """Answer question ``number`` (1-based, as shown) with ``answer`` (a letter, or a number
        for a numeric question); prints the feedback and returns it."""
        if not 1 <= number <= len(self.questions):
            raise IndexError(f"question {number}: the quiz has questions 1 to "
                             f"{len(self.questions)}")
        question = self.questions[number - 1]
        if isinstance(question, Question) and isinstance(answer, int) \
                and not isinstance(answer, bool):
            answer = LETTERS[answer] if 0 <= answer < len(LETTERS) else None  # an index
        result = feedback(question, answer)
        print(result.text)
        return result

    def text(self) -> str:
        """The quiz as plain text (the fallback without widgets)."""
        lines = [f"{self.title} ({len(self.questions)} questions)", ""]
        for n, q in enumerate(self.questions, start=1):
            lines.append(f"{n}. {q.prompt}")
            if isinstance(q, Question):
                lines += [f"   ({LETTERS[i]}) {c.text}" for i, c in enumerate(q.choices)]
            else:
                lines.append("   (answer with a number)")
            lines.append("")
        first = self.questions[0]
        example = '"a"' if isinstance(first, Question) else "0.5"
        lines.append(f"Check an answer with QUIZ.check(question, answer), e.g. "
                     f"QUIZ.check(1, {example}).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def widget(self) -> QuizWidget:
        """A fresh set of widgets for this quiz (raises ImportError without ipywidgets)."""
        return QuizWidget(self)

    def _ipython_display_(self):
        from IPython.display import display

        try:
            shown = self.widget()
        except ImportError:
            print(self.text())
            return
        display(shown)


class _QuestionWidget:
    """One question's widgets: ``control`` (RadioButtons, or Text for a number), ``button``,
    ``feedback`` (an HTML line), ``box``; :meth:`check` is the button's handler."""

    def __init__(self, number: int, question: Question | NumericQuestion):
        import ipywidgets as widgets

        self.question = question
        self.result: Feedback | None = None
        prompt = widgets.HTML(f"<b>{number}.</b> {_code_html(question.prompt)}",
                              layout=widgets.Layout(width="auto"))
        if isinstance(question, Question):
            options = [(f"({LETTERS[i]}) {c.text}", i) for i, c in enumerate(question.choices)]
            self.control = widgets.RadioButtons(options=options, value=None,
                                                layout=widgets.Layout(width="auto"))
        else:
            self.control = widgets.Text(placeholder="a number",
                                        layout=widgets.Layout(width="14em"))
        self.button = widgets.Button(description="Check", button_style="primary",
                                     layout=widgets.Layout(width="8em"))
        self.feedback = widgets.HTML("", layout=widgets.Layout(width="auto"))
        self.button.on_click(lambda _button: self.check())
        self.control.observe(lambda _change: self._clear(), names="value")
        self.box = widgets.VBox([prompt, self.control, self.button, self.feedback],
                                layout=widgets.Layout(margin="0 0 1em 0"))
        self.box.add_class("mg-quiz-question")

    def _clear(self):
        self.result = None
        self.feedback.value = ""

    def check(self) -> Feedback:
        """Judge the control's current value and show the feedback (the button's handler)."""
        self.result = feedback(self.question, self.control.value)
        color = {True: "#1a7f37", False: "#b3261e", None: "#555555"}[self.result.correct]
        self.feedback.value = (f'<div style="color: {color}; white-space: normal">'
                               f"{_code_html(self.result.text)}</div>")
        return self.result


#: Radio-button labels are one line of fixed height in ipywidgets' CSS, and the button comes
#: after the text in the DOM; a choice is often a sentence, so inside a quiz the labels wrap,
#: with the button kept in front of the text's first line.
QUIZ_CSS = (".mg-quiz .widget-radio-box label, .mg-quiz .jupyter-widget-radio-box label "
            "{height: auto; line-height: 1.35; white-space: normal; margin-bottom: 0.3em; "
            "display: flex; flex-direction: row-reverse; justify-content: flex-end; "
            "align-items: baseline} "
            ".mg-quiz .widget-radio-box input, .mg-quiz .jupyter-widget-radio-box input "
            "{flex: none; margin: 0 0.5em 0 0}")


class QuizWidget:
    """The widgets of a :class:`Quiz`: ``questions`` (one :class:`_QuestionWidget` each, with
    ``control``, ``button``, ``feedback`` and ``check()``) in a VBox, ``widget``."""

    def __init__(self, quiz: Quiz):
        import ipywidgets as widgets

        self.quiz = quiz
        self.questions = [_QuestionWidget(n, q) for n, q in enumerate(quiz.questions, start=1)]
        title = widgets.HTML(f"<style>{QUIZ_CSS}</style><h3>{html.escape(quiz.title)}</h3>")
        self.widget = widgets.VBox([title, *(q.box for q in self.questions)])
        self.widget.add_class("mg-quiz")

    def _repr_mimebundle_(self, **kwargs):
        """The VBox's widget view, with the quiz as plain text for front ends that cannot show
        widgets (a static rendering shows the questions instead of ``VBox(...)``)."""
        data = self.widget._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.quiz.text()
        return data
