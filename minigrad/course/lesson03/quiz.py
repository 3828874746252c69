"""The end-of-lesson quiz: parameters, the stability limit, Adam's first step, fair races."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("03", [
    NumericQuestion(
        "How many numbers does the paper's MLP 784-20-10 (weights and biases) have?",
        answer=15_910,
        explanation="784·20 + 20 + 20·10 + 10 = 15,910: each Linear layer has in·out weights "
                    "and out biases. The learned optimizer will see these as 15,910 "
                    "coordinates.",
        mistakes=[(15_880, "That is the weights only: each layer also has one bias per "
                           "output (20 + 10)."),
                  (15_700, "That is the first layer only: add the second layer's 20·10 "
                           "weights and 10 biases."),
                  (156_800, "That multiplies the three sizes. Each layer has its own "
                            "in·out weights; the layers' counts add up.")],
        hint="A Linear layer from n to m has n·m weights and m biases.",
    ),
    Question(
        "A module keeps its layers in a plain Python list, self.layers = [nn.Linear(2, 3), "
        "nn.Linear(3, 1)]. What happens when you train it?",
        [Choice("An error when the module is built.",
                "Nothing complains: a list is a valid attribute, which is what makes the "
                "bug silent."),
         Choice("It trains normally: the module looks inside lists.",
                "A Module finds Parameters and child Modules among its attributes; it does "
                "not look inside a plain list (nn.ModuleList is the list it looks into)."),
         Choice("The layers' parameters are not found: not in parameters(), never updated "
                "by the optimizer, missing from the state dict.",
                "The forward pass uses them, so the loss is computed, but the optimizer never "
                "sees them: the model silently does not learn.", correct=True)],
    ),
    NumericQuestion(
        "Gradient descent on f(x, y) = x² + 100·y². Above which learning rate does it "
        "diverge?",
        answer=0.01,
        tolerance=1e-9,
        explanation="The Hessian is diag(2, 200). Each step multiplies y by 1 − 200α, which "
                    "must stay within (−1, 1): α < 2/λ_max = 2/200 = 0.01. The flat x "
                    "direction then crawls, at a factor of at least 0.98 per step.",
        mistakes=[(1.0, "That is 2/λ for the flat direction x (λ = 2). The steep direction "
                        "y (λ = 200) diverges first."),
                  (0.005, "That is 1/λ_max, the rate that solves the steep direction in one "
                          "step. Divergence starts at twice that, 2/λ_max.")],
        hint="The limit is α < 2/λ_max, λ_max the largest eigenvalue of the Hessian.",
    ),
    Question(
        "Adam's very first step (t = 1, lr = 1e-3) on a gradient with coordinates 1e-6 and "
        "5. How far does each coordinate move?",
        [Choice("About 1e-9 and 5e-3: proportional to the gradient, like SGD.",
                "That is SGD's step. Adam divides by the root of the running second moment."),
         Choice("About 1e-3 each, against the gradient's sign.",
                "After bias correction m̂ = g and v̂ = g², so the step is lr·g/|g|: lr times "
                "the sign, whatever the gradient's size.", correct=True),
         Choice("About 1e-4 each: m starts at 0, so the first step is (1 − β₁) = 0.1 of "
                "the rate.",
                "That would be Adam without bias correction. Dividing m by 1 − β₁ᵗ is what "
                "makes the first steps the right size."),
         Choice("Nothing: Adam needs a few steps of history first.",
                "Adam moves from the first step on; its averages start at zero and the bias "
                "correction compensates.")],
    ),
    Question(
        "To compare SGD, NAG, RMSprop and Adam fairly on a problem, which protocol?",
        [Choice("Run all four with the same learning rate.",
                "Each rule has its own good range (Adam's step does not scale with the "
                "gradient, SGD's does): one shared rate favours whichever it suits."),
         Choice("Tune each one's learning rate on the test runs, then report those runs.",
                "Picking the best of many rates on the very runs you report selects noise "
                "in your favour: the result is optimistic."),
         Choice("Tune each one's learning rate on validation problems, then compare all "
                "on the same held-out test problems.",
                "Each gets its best rate, chosen on data that is not used for the verdict; "
                "lessons 05 and 07 use this protocol.", correct=True)],
    ),
])
