"""The end-of-lesson quiz: why log|g|, the two branches, where the zeros come from."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("06", [
    Question(
        "Why does the paper feed the LSTM log|g| / p and the sign of g instead of the raw "
        "gradient g?",
        [Choice("Logarithms are cheaper to compute than products.",
                "The cost is the same order; the reason is the scale of the inputs."),
         Choice("The gradients span many orders of magnitude: through one set of weights a "
                "1e-8 input is invisible next to a 1e-2 one; log|g| turns each order into a "
                "step of the same size.",
                "The logarithm separates magnitude from sign and keeps the inputs bounded, "
                "so one LSTM can read every coordinate's gradient.", correct=True),
         Choice("To make the gradients positive.",
                "The sign is kept, as the second input: an optimizer must know which way to "
                "go."),
         Choice("To remove noise from the gradients.",
                "The map is deterministic and one to one above e^−p; it changes the scale, "
                "not the information.")],
    ),
    NumericQuestion(
        "LogAndSign with p = 10 on g = −0.001. What is its FIRST output (to two decimals)?",
        answer=-0.6908,
        tolerance=0.006,
        explanation="|g| = 1e-3 is above e^−10 ≈ 4.5e-5, so the log branch: ln(0.001) / 10 = "
                    "−0.69. The sign, −1, is the second output.",
        mistakes=[(-0.3, "That uses log₁₀: the paper's log is the natural one, ln 0.001 = "
                         "−6.9."),
                  (0.6908, "The first output is log|g| / p, negative for |g| < 1; the sign "
                           "of g goes in the second output."),
                  (-1.0, "−1 is the linear branch's first output, for |g| < e^−10 ≈ 4.5e-5. "
                         "0.001 is far above that switch.")],
        hint="Above the switch e^−p the first output is ln|g| / p.",
    ),
    Question(
        "About a third of the MLP's gradient coordinates are exactly 0. What does LogAndSign "
        "(p = 10) give for g = 0?",
        [Choice("(−∞, 0)",
                "That is what a plain log would give, and why the map switches to a linear "
                "branch below e^−p."),
         Choice("(0, 0)",
                "The linear branch's first output is −1, not 0."),
         Choice("(−1, 1)",
                "The second output there is e^p·g, which is 0 for g = 0."),
         Choice("(−1, 0)",
                "Below e^−p the map is (−1, e^p·g): bounded, continuous at the switch, and "
                "0 gives (−1, 0).", correct=True)],
    ),
    Question(
        "Why are about a third of the first layer's weight gradients exactly zero?",
        [Choice("Those weights come from pixels that are 0 (black) in every image of the "
                "minibatch: ∂L/∂W1ᵢⱼ sums δⱼ·xᵢ over the batch, and xᵢ = 0.",
                "The digits' borders are always black, so those weights never get a "
                "gradient.", correct=True),
         Choice("Saturated sigmoid units.",
                "A sigmoid's derivative is small when saturated, but never exactly 0; and at "
                "initialisation the units are near 0.5, far from saturation."),
         Choice("float32 underflow.",
                "float32 reaches down to about 1e-38; these gradients are not rounded to 0, "
                "they are exactly 0 by the chain rule."),
         Choice("A learning rate that is too small.",
                "The gradient does not depend on the learning rate; it is computed before "
                "any step.")],
    ),
])
