"""The end-of-lesson quiz: retuned baselines, the final-loss ratio, ReLU, long horizons."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("08", [
    Question(
        "The learned optimizer, trained on the 20-unit sigmoid MLP, is tested on a ReLU MLP. "
        "Which baselines should it be compared with?",
        [Choice("SGD, NAG, RMSprop and Adam with the learning rates tuned on the sigmoid "
                "MLP, so that nothing is retuned.",
                "Those rates may be poor on the new problem, which would handicap the "
                "baselines and flatter the learned optimizer."),
         Choice("Baselines whose learning rates are tuned again, on validation problems of "
                "the ReLU MLP.",
                "A hand-designed optimizer is always tuned for the problem at hand; the "
                "learned one must beat that, not an untuned version.", correct=True),
         Choice("None: away from its training problem the comparison is meaningless.",
                "Generalisation is exactly what this lesson measures, against the best that "
                "hand-designed rules do there."),
         Choice("Only Adam, with its default rate 1e-3.",
                "A default rate is not a tuned one, and one baseline is not all four.")],
    ),
    NumericQuestion(
        "Mean final test losses: learned 0.26; tuned SGD 0.31, NAG 0.20, RMSprop 0.25, "
        "Adam 0.22. What is the final-loss ratio (learned over the best tuned baseline)?",
        answer=1.3,
        tolerance=0.006,
        explanation="The best baseline is NAG (0.20), and 0.26 / 0.20 = 1.3: the learned "
                    "optimizer ends 30% higher. Below 1 it would end lower.",
        mistakes=[(0.20 / 0.26, "That is the inverse, best over learned. The ratio is the "
                                "learned optimizer's loss divided by the best baseline's."),
                  (0.26 / 0.31, "That compares with SGD, the worst baseline. The ratio uses "
                                "the best one, the lowest final loss."),
                  (0.26 / 0.22, "That compares with Adam. The best baseline here is NAG.")],
        hint="First find the baseline with the lowest final loss.",
    ),
    Question(
        "At initialisation, how do a ReLU MLP's output-layer gradients (W2) compare with a "
        "sigmoid MLP's, and why?",
        [Choice("About the same: the loss is the same cross-entropy.",
                "The error coming back from the loss is about the same; what comes into W2 "
                "from below is not."),
         Choice("About ten times larger: ReLU does not saturate.",
                "Saturation concerns the derivative in the first layer's gradients (which "
                "are indeed larger with ReLU), not W2's."),
         Choice("About ten times smaller: ∂L/∂W2 = hᵀδ, and a sigmoid unit outputs about "
                "0.5 while a ReLU unit outputs its small pre-activation or 0.",
                "With weights of about 0.01 the pre-activations are small, so ReLU's h is "
                "small; the LSTM reads inputs it was not trained on.", correct=True),
         Choice("Exactly zero: ReLU units start inactive.",
                "About half of them are active on a given image; their outputs are small, "
                "not zero.")],
    ),
    Question(
        "The optimizer was meta-trained on 100-step runs. What should you expect at 1,000 "
        "steps?",
        [Choice("It keeps improving, as gradient descent does with a stable rate.",
                "Nothing in its training constrained steps 101 to 1,000: there is no "
                "stability guarantee to lean on."),
         Choice("It stops exactly at step 100.",
                "It keeps taking steps; the LSTM has no notion of the horizon."),
         Choice("Nothing in particular: it was never trained there, so measure; it may "
                "stall, rise or diverge.",
                "Beyond its horizon a learned optimizer is extrapolating; section 6's "
                "curves show what this one does, and the loss can rise well above its "
                "lowest point.", correct=True)],
    ),
])
