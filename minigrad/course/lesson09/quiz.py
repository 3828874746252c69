"""The end-of-lesson quiz: the extra loss term, scale invariance, the Hessian term, what the
LSTM learned."""

from __future__ import annotations

from minigrad.course.quiz import Choice, Question, Quiz

QUIZ = Quiz("09", [
    Question(
        "The official code adds f(θ₀) to the meta-loss: 21 terms instead of the paper's 20. "
        "What does that change in meta-training?",
        [Choice("The meta-gradient, by one more term.",
                "f(θ₀) is computed before the optimizer takes any step: it does not depend "
                "on φ, so its gradient with respect to φ is zero."),
         Choice("Only the reported meta-loss: both settings train bit for bit the same "
                "optimizer.",
                "A constant added to a loss leaves its gradient, and so every Adam step on φ, "
                "unchanged.", correct=True),
         Choice("The first step of each unroll is weighted twice.",
                "f(θ₀) is the loss before the first step, not of it."),
         Choice("The optimizer learns to start more carefully.",
                "To learn anything from a term, φ must change it; f(θ₀) does not depend on "
                "φ.")],
    ),
    Question(
        "Every gradient is multiplied by c = 10 (the summed instead of the averaged "
        "quadratics). Whose trajectory does NOT change (up to its ε)?",
        [Choice("SGD's.",
                "SGD's step is α·g: it grows tenfold, like a ten times larger learning rate."),
         Choice("The learned optimizer's.",
                "It reads the raw gradient, so its input changes: an optimizer trained on one "
                "family has learned for that family's input scale."),
         Choice("Adam's.",
                "Its step m̂ / (√v̂ + ε) divides the gradient's scale away: c cancels.",
                correct=True),
         Choice("Momentum's.",
                "Its velocity sums the gradients, so its steps grow tenfold too.")],
    ),
    Question(
        "With create_graph=True (exercise 09.1), what does the meta-gradient gain over the "
        "first-order one?",
        [Choice("Nothing: the two are always equal.",
                "They coincide only when the step hardly depends on the gradient; for the "
                "shipped optimizer they point in quite different directions."),
         Choice("The terms through ∂∇f(θₜ)/∂θₜ, the Hessian of f, on the paths through both "
                "θₜ₊₁ and the LSTM state hₜ₊₁.",
                "Keeping the dashed edges lets the meta-gradient see how a step changes the "
                "next gradient, which enters both the next parameters and the next state.",
                correct=True),
         Choice("A gradient with respect to θ₀.",
                "Both orders differentiate with respect to φ; θ₀ is a given start."),
         Choice("Only a smaller graph.",
                "The second-order graph is larger (more than three times the nodes here): "
                "the backward pass itself is recorded.")],
    ),
    Question(
        "Why is the cosine between first- and second-order meta-gradients close to 1 for the "
        "UNTRAINED optimizer?",
        [Choice("Its step hardly depends on its input (it drifts on its biases), so "
                "∂m/∂g ≈ 0 and the dropped term with it.",
                "The dropped term is multiplied by how the update reacts to the gradient; "
                "an optimizer that ignores its input loses almost nothing.", correct=True),
         Choice("The quadratics have no Hessian.",
                "A quadratic's Hessian is constant, 2WᵀW, not zero."),
         Choice("Untrained weights are zero.",
                "They are random; the optimizer drifts, it does not stand still."),
         Choice("create_graph is ignored for untrained networks.",
                "minigrad records the backward pass whatever the weights.")],
    ),
    Question(
        "Feed the shipped optimizer a history of gradients that are all exactly 0. What does "
        "it do, compared with momentum and Adam?",
        [Choice("Nothing, like them: no gradient, no step.",
                "Momentum and Adam take no step, but the LSTM's output comes from its "
                "weights and biases too."),
         Choice("It steps in the direction of the last non-zero gradient.",
                "There was none, and its state starts at zero."),
         Choice("It still steps: a drift (the even part, ½[m(g) + m(−g)]) that the "
                "gradient's sign does not decide.",
                "In section 3's explorer its first step from the zero state is about +0.13; "
                "with g = 0 the odd part is exactly zero, so all of it is even.",
                correct=True)],
    ),
])
