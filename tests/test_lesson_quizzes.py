"""Every lesson's end-of-lesson quiz (minigrad/course/lessonNN/quiz.py): three to five questions,
one right answer each, every answer explained; and where the notebooks show it (right before the
lesson's recap, in both trees, with the widgets in the executed solutions)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from minigrad.course.quiz import LETTERS, Feedback, Question, Quiz, feedback

REPO = Path(__file__).resolve().parent.parent
LESSONS = [f"{n:02d}" for n in range(11)]

def _quiz(lesson: str) -> Quiz:
    return importlib.import_module(f"minigrad.course.lesson{lesson}").QUIZ


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_has_a_quiz_of_three_to_five_explained_questions(lesson):
    quiz = _quiz(lesson)
    assert quiz.lesson == lesson
    assert 3 <= len(quiz.questions) <= 5
    prompts = [q.prompt for q in quiz.questions]
    assert len(set(prompts)) == len(prompts)
    for q in quiz.questions:
        if isinstance(q, Question):
            assert sum(c.correct for c in q.choices) == 1, q.prompt
            assert all(c.why.strip() and c.text.strip() for c in q.choices), q.prompt
            assert len({c.text for c in q.choices}) == len(q.choices), q.prompt
            # the explanation of the right answer is what a right answer shows
            assert feedback(q, q.answer) == Feedback(True, f"✅ Right. {q.choices[q.answer].why}")
            for i, c in enumerate(q.choices):
                if not c.correct:
                    assert feedback(q, LETTERS[i]).correct is False
        else:
            assert feedback(q, q.answer).correct is True, q.prompt
            for value, why in q.mistakes:
                assert why in feedback(q, value).text
        assert "$" not in q.prompt, "radio labels do not render LaTeX: write plain Unicode"


def test_the_right_answers_are_not_always_in_the_same_place():
    places = [q.answer for les in LESSONS for q in _quiz(les).questions
              if isinstance(q, Question)]
    assert len(set(places)) >= 3 and max(places.count(p) for p in set(places)) < len(places) / 2


def test_every_quiz_renders_as_widgets():
    for lesson in LESSONS:
        widget = _quiz(lesson).widget()
        assert len(widget.questions) == len(_quiz(lesson).questions)
        for q in widget.questions:  # nothing selected: "pick one first", never an error
            assert q.check().correct is None


# --------------------------------------------------------------------------------------------
# Where the notebooks show them


def _cells(tree: str, lesson: str) -> list[dict]:
    (path,) = (REPO / tree).glob(f"{lesson}_*.ipynb")
    return json.loads(path.read_text())["cells"]


def _src(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("tree", ["solutions", "course"])
@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lesson_ends_with_its_quiz_then_its_recap(tree, lesson):
    cells = _cells(tree, lesson)
    shows = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
             and _src(c).strip().splitlines()[-1:] == ["L.QUIZ"]]
    assert len(shows) == 1, f"{tree}/{lesson}: one cell should show L.QUIZ"
    i = shows[0]
    assert _src(cells[i - 1]).startswith("## Quiz"), "a heading before the quiz"
    recap = _src(cells[i + 1])
    assert recap.startswith("## Recap"), "the recap right after the quiz"
    bullets = [ln for ln in recap.split("\n## ")[0].splitlines() if ln.startswith("- ")]
    assert 3 <= len(bullets) <= 6, f"{lesson}: the recap has {len(bullets)} bullets"
    # nothing but pointers onward after the recap: no new section of the lesson
    later = [_src(c) for c in cells[i + 2:] if c["cell_type"] == "markdown"]
    for text in later:
        for line in text.splitlines():
            if line.startswith("## "):
                assert "Further reading" in line or "Course recap" in line, line
    if tree == "solutions":
        views = [o for o in cells[i].get("outputs", [])
                 if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert views, f"{lesson}: the executed quiz cell shows the widgets"
        assert "".join(views[0]["data"]["text/plain"]) == _quiz(lesson).text()


def test_lesson_09_keeps_one_course_recap_after_its_quiz():
    cells = _cells("solutions", "09")
    texts = [_src(c) for c in cells]
    course = [i for i, t in enumerate(texts) if t.startswith("## Course recap")]
    quiz = [i for i, t in enumerate(texts) if t.strip().endswith("L.QUIZ")]
    assert len(course) == 1 and quiz and quiz[0] < course[0]
