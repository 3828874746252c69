"""The end-of-lesson quiz: coordinates as batch rows, equivariance, the meta-loss and its
cut, what is detached between unrolls."""

from __future__ import annotations

from minigrad.course.quiz import Choice, Question, Quiz

QUIZ = Quiz("05", [
    Question(
        "The coordinatewise optimizer (no preprocessing) steps a network with n = 15,910 "
        "parameters. What is the shape of the LSTM's input at one step?",
        [Choice("(1, 15910): one row holding the whole gradient.",
                "That is a single LSTM reading all coordinates at once: its first layer "
                "alone would need millions of weights, and it would depend on n."),
         Choice("(15910, 1): one batch row per coordinate, one feature (its gradient).",
                "Coordinates become batch rows, so the same small weights φ act on every "
                "row, and each row keeps its own state, of shape (15910, H).",
                correct=True),
         Choice("(15910, 15910): every coordinate sees every other.",
                "Coordinates do not talk to each other in this optimizer; that is its price."),
         Choice("(20, 1): one row per hidden unit.",
                "20 is the hidden size H, the width of each row's state, not the number of "
                "rows.")],
    ),
    Question(
        "The same learned optimizer is then used on a network ten times larger. How many "
        "weights φ does it have there?",
        [Choice("Ten times as many.",
                "φ is shared by all coordinates: more coordinates mean more batch rows, not "
                "more weights."),
         Choice("A hundred times as many.",
                "Nothing in the optimizer couples coordinates pairwise; its size does not "
                "depend on n at all."),
         Choice("The same.",
                "Its size does not depend on n (5,301 weights for the paper's MNIST "
                "optimizer), which is what lets lesson 08 run it on wider nets.",
                correct=True)],
    ),
    Question(
        "Shuffle the coordinates of θ (and so of every gradient) before running the "
        "coordinatewise optimizer. What happens to its updates?",
        [Choice("They are exactly the same vector as before.",
                "That would be invariance. Coordinate i's update still belongs to "
                "coordinate i, which now sits elsewhere."),
         Choice("They come out shuffled the same way: m(P∇) = P·m(∇).",
                "Each coordinate runs through the same LSTM with its own state, so the "
                "updates move with the coordinates: permutation equivariance.",
                correct=True),
         Choice("They change: the LSTM reads the coordinates in order.",
                "The coordinates are batch rows, processed independently; their order "
                "changes nothing but the order of the results."),
         Choice("It fails: the state no longer matches the coordinates.",
                "The state is shuffled with them, row for row, from the start of the run.")],
    ),
    Question(
        "The unrolled meta-loss feeds each gradient ∇f(θₜ) to the optimizer as a constant "
        "(the dashed edges). What does that cut change?",
        [Choice("The meta-loss's value.",
                "The forward computation is the same; the cut only removes paths for the "
                "gradient."),
         Choice("The meta-gradient: it drops the terms through ∂∇f(θₜ)/∂θₜ, the Hessian "
                "of f, so no second derivatives are needed.",
                "Here the meta-gradient changed by a few percent; lesson 09 measures what "
                "the dropped term does to a trained optimizer.", correct=True),
         Choice("Nothing at all; the cut is only for speed.",
                "The meta-gradient differs: it misses the Hessian term."),
         Choice("φ no longer gets any gradient.",
                "φ still gets its gradient through gₜ, θₜ₊₁ and the state hₜ₊₁.")],
    ),
    Question(
        "In your meta-training loop, what goes wrong if θ and the LSTM state are NOT detached "
        "between unrolls?",
        [Choice("Each unroll's meta-gradient flows back into all earlier unrolls: the graph "
                "grows with every unroll (or backward hits the freed graph).",
                "Detaching keeps their values and drops their graph, so each Adam step on φ "
                "uses one unroll of K steps: truncated BPTT, as in lesson 04.",
                correct=True),
         Choice("θ restarts from θ₀ at every unroll.",
                "detach keeps the values; a restart is what the loop does only at the start "
                "of a new horizon."),
         Choice("The meta-gradient becomes zero.",
                "It still flows; it flows too far back."),
         Choice("The LSTM forgets its state between unrolls.",
                "The state's values carry over either way; only its graph would be kept.")],
    ),
])
