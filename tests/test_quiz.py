"""The end-of-lesson quizzes: the helper (minigrad/course/quiz.py), headless through its widgets
(set a value, click Check, read the feedback) and as plain text; every lesson's questions; and
where the notebooks show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad.course.quiz import (
    Choice,
    Feedback,
    NumericQuestion,
    Question,
    Quiz,
    QuizWidget,
    feedback,
)

REPO = Path(__file__).resolve().parent.parent
LESSONS = [f"{n:02d}" for n in range(10)]

Q = Question("2 + 2?", [Choice("3", "One short."), Choice("4", "2 + 2 = 4.", correct=True),
                        Choice("22", "That joins the digits.")])
N = NumericQuestion("Weights of a Linear(3, 2) with bias?", answer=8,
                    explanation="3·2 weights and 2 biases.",
                    mistakes=[(6, "Weights only: add the biases.")], hint="in·out + out.")


# --------------------------------------------------------------------------------------------
# The feedback function


def test_a_choice_gets_its_own_explanation():
    assert feedback(Q, 1) == Feedback(True, "✅ Right. 2 + 2 = 4.")
    wrong = feedback(Q, 0)
    assert wrong.correct is False and "One short." in wrong.text and "Try another" in wrong.text
    assert feedback(Q, "c").text.startswith("❌ Not quite. That joins the digits.")
    assert feedback(Q, "(B)").correct is True  # letters, as shown, in any case


@pytest.mark.parametrize("value", [None, 3, -1, "d", "", True])
def test_no_choice_is_nothing_to_check(value):
    result = feedback(Q, value)
    assert result.correct is None and "Pick one of the answers (a, b, c)" in result.text


def test_numeric_answers_mistakes_and_directions():
    assert feedback(N, "8").correct is True and "3·2 weights" in feedback(N, 8.0).text
    assert feedback(N, " 8.0 ").correct is True
    assert feedback(N, "6") == Feedback(False, "❌ Not quite. Weights only: add the biases. "
                                               "Try again.")
    assert feedback(N, 9).text == "❌ Not quite. 9 is too high. in·out + out. Try again."
    assert "is too low" in feedback(N, "1e-3").text
    for junk in ("", "eight", None, "nan", "inf"):
        assert feedback(N, junk).correct is None, junk
    assert feedback(N, "1,000").text.startswith("❌ Not quite. 1000 is too high")


def test_numeric_tolerance_absolute_and_relative():
    absolute = NumericQuestion("?", answer=-0.69, tolerance=0.01, explanation="ln(1e-3)/10")
    assert feedback(absolute, "-0.695").correct and not feedback(absolute, "-0.70001").correct
    relative = NumericQuestion("?", answer=1000, tolerance=0.05, relative=True, explanation="x")
    assert feedback(relative, 1049).correct and not feedback(relative, 1051).correct


def test_malformed_questions_are_refused():
    with pytest.raises(ValueError, match="exactly one correct"):
        Question("?", [Choice("a", "x", correct=True), Choice("b", "y", correct=True)])
    with pytest.raises(ValueError, match="exactly one correct"):
        Question("?", [Choice("a", "x"), Choice("b", "y")])
    with pytest.raises(ValueError, match="two or more"):
        Question("?", [Choice("a", "x", correct=True)])
    with pytest.raises(ValueError, match="an explanation"):
        Question("?", [Choice("a", "", correct=True), Choice("b", "y")])
    with pytest.raises(ValueError, match="within the tolerance"):
        NumericQuestion("?", answer=1.0, tolerance=0.1, explanation="x", mistakes=[(1.05, "y")])
    with pytest.raises(TypeError):
        Quiz("99", ["not a question"])


# --------------------------------------------------------------------------------------------
# The widgets, headless: set a value, click Check, read the feedback


def test_widgets_check_what_is_selected_and_explain():
    quiz = QuizWidget(Quiz("xx", [Q, N]))
    radio, text = quiz.questions[0], quiz.questions[1]
    assert radio.control.value is None  # nothing pre-selected
    assert [o[0] for o in radio.control.options] == ["(a) 3", "(b) 4", "(c) 22"]

    radio.button.click()
    assert radio.result.correct is None and "Pick one" in radio.feedback.value
    radio.control.value = 0
    assert radio.feedback.value == ""  # a new choice clears the old verdict
    radio.button.click()
    assert radio.result.correct is False and "One short." in radio.feedback.value
    radio.control.value = 1
    radio.button.click()
    assert radio.result == feedback(Q, 1) and "2 + 2 = 4." in radio.feedback.value

    text.control.value = "6"
    assert text.check().correct is False and "add the biases" in text.feedback.value
    text.control.value = "8"
    text.button.click()
    assert text.result.correct is True and "Right." in text.feedback.value


def test_feedback_html_is_escaped_and_shows_code():
    q = Question("?", [Choice("`a < b`", "Because `a < b` & more.", correct=True),
                       Choice("no", "x")])
    w = QuizWidget(Quiz("xx", [q])).questions[0]
    w.control.value = 0
    w.check()
    assert "<code>a &lt; b</code> &amp; more." in w.feedback.value


def test_display_bundle_has_the_widget_and_the_quiz_as_text():
    quiz = Quiz("xx", [Q, N])
    bundle = quiz.widget()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == quiz.text()


def test_plain_text_fallback_and_check(capsys, monkeypatch):
    quiz = Quiz("xx", [Q, N])
    text = quiz.text()
    assert text.startswith("Quiz: lesson xx (2 questions)")
    assert "1. 2 + 2?\n   (a) 3\n   (b) 4\n   (c) 22" in text
    assert "2. Weights of a Linear(3, 2) with bias?\n   (answer with a number)" in text
    assert 'QUIZ.check(1, "a")' in text and repr(quiz) == text
    assert quiz.check(1, "b").correct is True
    assert quiz.check(1, 0).correct is False  # an index, as the radio buttons hold
    assert quiz.check(2, "8").correct is True
    assert capsys.readouterr().out.splitlines()[0] == "✅ Right. 2 + 2 = 4."
    with pytest.raises(IndexError, match="questions 1 to 2"):
        quiz.check(3, "a")

    # Without ipywidgets, displaying the quiz prints it.
    import builtins

    real_import = builtins.__import__

    def no_widgets(name, *args, **kwargs):
        if name == "ipywidgets":
            raise ImportError("no ipywidgets here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_widgets)
    quiz._ipython_display_()
    assert capsys.readouterr().out == text + "\n"
