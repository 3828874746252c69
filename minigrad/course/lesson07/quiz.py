"""The end-of-lesson quiz: the flat vector, the evaluation protocol, paired intervals, the
log meta-loss."""

from __future__ import annotations

from minigrad.course.quiz import Choice, Question, Quiz

QUIZ = Quiz("07", [
    Question(
        "θ lays W1 (784 × 20), b1, W2 (20 × 10), b2 end to end. Which slice of θ holds W2?",
        [Choice("θ[15700:15900]",
                "W1 takes 784·20 = 15,680 entries and b1 the next 20, so W2's 200 entries "
                "start at 15,700; b2 is the last 10.", correct=True),
         Choice("θ[15680:15880]",
                "That skips b1: the biases of the first layer come right after W1."),
         Choice("θ[0:200]",
                "The arrays are laid out in the order W1, b1, W2, b2; W2 comes third."),
         Choice("θ[15710:15910]",
                "That would put b2 before W2; the order is W1, b1, W2, b2, so W2 ends 10 "
                "before the end.")],
    ),
    Question(
        "Why are the baselines' learning rates picked on validation MLPs, not on the test "
        "runs that are reported?",
        [Choice("Validation runs are cheaper.",
                "They cost the same per run; the reason is what the reported number means."),
         Choice("Picking the best of many rates on the reported runs also picks their noise: "
                "the reported loss would be optimistic.",
                "What is chosen on one set of problems must be judged on another, held out "
                "from every choice (the learned optimizer's weights are chosen on validation "
                "too).", correct=True),
         Choice("The test runs use different digits, where the rates do not transfer.",
                "Rates tuned on validation digits are meant to transfer: that is what the "
                "test runs then measure."),
         Choice("The paper tuned on its training problems.",
                "The rule here is to choose on validation and report on test, whatever one "
                "paper did.")],
    ),
    Question(
        "The learned optimizer's and tuned NAG's 95% intervals of the mean final loss "
        "overlap, yet the paired interval of their per-run differences excludes 0. Can that "
        "be?",
        [Choice("No: overlapping intervals mean no difference can be shown.",
                "Overlap of two separate intervals is not a test of their difference; it "
                "ignores that the runs are shared."),
         Choice("Only if the runs were not the same for both optimizers.",
                "The paired comparison needs the same runs; it is exactly when the runs are "
                "shared that it is sharper."),
         Choice("Yes: both ran on the same test problems (same initial weights and "
                "minibatches), so per-run differences cancel what the runs share, and "
                "their interval is narrower.",
                "Some test MLPs are harder than others for every optimizer; that spread "
                "widens each interval but cancels in the differences.", correct=True)],
    ),
    Question(
        "The fast recipe's meta-loss is the log of each unroll's mean loss, not the sum of "
        "the losses fₜ. Why?",
        [Choice("log fₜ is always negative, which Adam prefers.",
                "The sign of a loss does not matter to Adam; only its gradient does."),
         Choice("The losses fall from 2.3 to a few hundredths: in Σ fₜ the first steps "
                "dominate, while ∇ log f̄ = ∇f̄ / f̄ weighs each unroll by its relative "
                "improvement.",
                "So the optimizer is trained on the late steps too, not mostly on its first "
                "few.", correct=True),
         Choice("It makes the meta-gradient exact, with no dashed edges.",
                "The log changes the weights of the terms, not which edges are cut."),
         Choice("It avoids computing fₜ.",
                "The log of the mean needs every fₜ first; the log is one more operation.")],
    ),
])
