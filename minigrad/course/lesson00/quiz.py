"""The end-of-lesson quiz: the paper's picture, the backend, gradient descent on x^2."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("00", [
    NumericQuestion(
        "Gradient descent on f(x) = x² with learning rate α = 0.1: each step multiplies x by "
        "the same factor. Which one?",
        answer=0.8,
        tolerance=1e-9,
        explanation="x ← x − α·f′(x) = x − 0.1·2x = (1 − 2α)·x = 0.8·x: x shrinks by 20% per "
                    "step, without changing sign.",
        mistakes=[(0.9, "That is 1 − α: the derivative of x² is 2x, not x."),
                  (1.2, "That is 1 + 2α: a gradient step goes against the gradient, "
                        "x − α·f′(x).")],
        hint="Write one step, x − α·f′(x), with f′(x) = 2x.",
    ),
    Question(
        "On the same f(x) = x², what does gradient descent do with α = 0.75?",
        [Choice("It diverges.",
                "The factor is 1 − 2α = −0.5, of size below 1: it converges. Divergence "
                "starts at α > 1, where |1 − 2α| > 1."),
         Choice("It converges, and x changes sign at every step.",
                "The factor 1 − 2α = −0.5 is negative and of size below 1: x flips sign and "
                "halves at every step.", correct=True),
         Choice("It converges without oscillating.",
                "That needs a factor between 0 and 1, i.e. α < 0.5. Here 1 − 2α = −0.5 < 0, "
                "so x changes sign every step."),
         Choice("It lands on the minimum in one step.",
                "Only α = 0.5 (= 1/f″) makes the factor 1 − 2α exactly 0.")],
    ),
    Question(
        "In the paper, what is trained by gradient descent on the meta-loss Σₜ f(θₜ)?",
        [Choice("The optimizee's parameters θ.",
                "θ is moved by the learned optimizer, θₜ₊₁ = θₜ + gₜ; the meta-loss's gradient "
                "goes to the optimizer's weights."),
         Choice("A single learning rate α.",
                "There is no α left to tune: the whole update gₜ comes out of the LSTM m."),
         Choice("The weights φ of the LSTM optimizer m.",
                "The meta-loss measures how well m optimizes f along the whole trajectory, "
                "and its gradient with respect to φ trains m.", correct=True),
         Choice("The optimizee's loss function f.",
                "f is the problem to solve; it is given, not learned.")],
    ),
    Question(
        "In the paper's picture, some edges are dashed: no gradient flows along them. Which?",
        [Choice("The edges that carry the update gₜ into θₜ₊₁.",
                "Those are solid: the meta-gradient reaches φ through gₜ and θₜ₊₁."),
         Choice("The edges from θₜ to its gradient ∇f(θₜ), the optimizer's input.",
                "The gradient enters m as a constant, so the meta-gradient needs no second "
                "derivatives of f.", correct=True),
         Choice("The edges from the LSTM state hₜ to hₜ₊₁.",
                "Those are solid: the state carries the optimizer's memory, and the "
                "meta-gradient flows along it through the unroll."),
         Choice("The edges from each f(θₜ) into the meta-loss.",
                "The meta-loss is the sum of these losses: cutting them would leave nothing "
                "to differentiate.")],
    ),
    Question(
        "You set MINIGRAD_BACKEND=cupy on a laptop without a usable NVIDIA GPU. What happens "
        "when you import minigrad?",
        [Choice("It silently falls back to NumPy.",
                "No silent fallback: you asked for the GPU, so minigrad says it cannot have "
                "it. `auto` is the setting that falls back."),
         Choice("It runs CuPy on the CPU instead.",
                "CuPy needs a CUDA GPU; it has no CPU mode."),
         Choice("It raises a BackendError that says why CuPy cannot work.",
                "Asking for `cupy` where it cannot work stops with the reason (not installed, "
                "no GPU or driver, a failing first computation).", correct=True)],
    ),
])
