"""The end-of-lesson quiz: broadcasting in backward, grad vs backward, detach, gradcheck."""

from __future__ import annotations

from minigrad.course.quiz import Choice, Question, Quiz

QUIZ = Quiz("02", [
    Question(
        "x has shape (32, 10), b has shape (10,), and loss = (x + b).sum(). After "
        "loss.backward(), what is b.grad?",
        [Choice("Shape (32, 10), all ones.",
                "That is the gradient of the broadcast copy of b. A gradient has its "
                "tensor's shape: sum_to folds it back to (10,)."),
         Choice("Shape (10,), every entry 1.",
                "That forgets that b was used 32 times (once per row): the contributions of "
                "a value used several times add up."),
         Choice("Shape (10,), every entry 32.",
                "b is broadcast over the 32 rows, so each entry is used 32 times and its "
                "gradient is the sum over the rows: sum_to(ones((32, 10)), (10,)).",
                correct=True),
         Choice("A scalar, 320.",
                "That sums over everything. b has 10 entries, so its gradient has 10 "
                "entries: only the broadcast axis is summed.")],
    ),
    Question(
        "x = mg.tensor(3.0, requires_grad=True). What is mg.grad(x * x.detach(), x)?",
        [Choice("6, as for x * x.",
                "x * x has two paths back to x (2x = 6); detach cuts one of them."),
         Choice("3",
                "x.detach() is a constant with x's value, so d/dx (x · 3) = 3: the gradient "
                "flows through one factor only.", correct=True),
         Choice("0",
                "Only the detached factor is cut; the other factor is x itself, which still "
                "carries a gradient."),
         Choice("An error: a detached tensor cannot enter a graph.",
                "It can: it enters as a constant (a leaf without requires_grad).")],
    ),
    Question(
        "Which computation needs create_graph=True?",
        [Choice("The gradient of a loss, to take one SGD step.",
                "One gradient needs no graph of the backward pass; the default does it."),
         Choice("Differentiating a gradient again: a second derivative, or a meta-gradient "
                "that keeps the paper's dashed edges.",
                "create_graph records the backward pass as ordinary operations, so its "
                "result can be differentiated again.", correct=True),
         Choice("Calling backward twice through the same graph.",
                "That is retain_graph=True: keep the saved arrays for a second pass. "
                "create_graph implies it, but is more."),
         Choice("Evaluating a model without recording a graph.",
                "That is `with mg.no_grad():`, the opposite: no graph at all.")],
    ),
    Question(
        "Why are gradients checked with central differences in float64 and not float32?",
        [Choice("The round-off error ε/h of float32 (ε ≈ 1e-7) swamps the comparison; in "
                "float64 (ε ≈ 2e-16) it is tiny.",
                "The error is about c·h² + ε/h: in float32 even the best step leaves about "
                "2e-5, a false alarm for a correct backward.", correct=True),
         Choice("float64 removes the truncation error c·h².",
                "The truncation error depends on h and the function, not on the dtype. "
                "float64 shrinks the round-off part ε/h."),
         Choice("minigrad's backward only works in float64.",
                "minigrad differentiates in any float dtype (float32 is the default)."),
         Choice("float64 is faster on a CPU.",
                "It is usually slower (twice the memory traffic); it is chosen for "
                "precision.")],
    ),
    Question(
        "gradcheck on relu fails at an input of exactly 0: analytic 0, numerical 0.5. What "
        "is wrong?",
        [Choice("relu's backward: it should return 0.5 at 0.",
                "Any value in [0, 1] is a valid subgradient at 0; the backward is not the "
                "problem."),
         Choice("Nothing in the backward: at the kink the central difference averages the "
                "slopes 0 and 1.",
                "A central difference that straddles a kink sees half of each side. Keep "
                "test inputs farther than h from kinks (and ties in max).", correct=True),
         Choice("The step h is too large; a smaller h would give 0.",
                "For any h the two points x ± h straddle the kink at 0 and give 0.5."),
         Choice("float32 round-off.",
                "Round-off would give a small error, not exactly half of the slope.")],
    ),
])
