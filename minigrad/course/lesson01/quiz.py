"""The end-of-lesson quiz: finite differences, the chain rule on a graph, reverse mode."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("01", [
    Question(
        "You halve the step h of a central difference (f(x + h) − f(x − h)) / 2h, far from "
        "the round-off regime. By about what factor does its error shrink?",
        [Choice("2",
                "That is the forward difference, whose error is O(h). The central one "
                "cancels the h term."),
         Choice("4",
                "The central difference's truncation error is O(h²): half the step, a "
                "quarter of the error.", correct=True),
         Choice("It does not shrink.",
                "Far from round-off, a smaller step does help; only when h gets tiny does "
                "round-off (about ε/h) take over and the error grow again."),
         Choice("8",
                "That would be an O(h³) error. The central difference's leading error term "
                "is (h²/6)·f‴(x): O(h²).")],
    ),
    NumericQuestion(
        "o = a·b + a with a = 2 and b = −3. What does the backward pass put in a.grad "
        "(∂o/∂a)?",
        answer=-2,
        tolerance=1e-9,
        explanation="a is used twice, so both contributions add up: b from the product and "
                    "1 from the sum, b + 1 = −2. That is why the rules do a.grad += ..., "
                    "not a.grad = ....",
        mistakes=[(-3, "That is only the product's contribution b. a also enters the sum "
                       "directly: contributions of a value used twice add up."),
                  (1, "That is only the sum's contribution. a also enters the product, "
                      "which contributes b = −3."),
                  (2, "2 is a itself, which is ∂(a·b)/∂b. The product's derivative with "
                      "respect to a is the other factor, b.")],
        hint="Apply each operation's local rule and add what reaches a along both paths.",
    ),
    Question(
        "Why must `backward` visit the nodes in reverse topological order?",
        [Choice("It is only faster; any order gives the same gradients.",
                "Not so: a node visited too early passes on an incomplete gradient, and the "
                "later contributions never reach its inputs."),
         Choice("So that a node's gradient is complete, with every consumer's contribution "
                "added, before it is passed on to its inputs.",
                "Reverse topological order visits every consumer of a value before the "
                "value itself.", correct=True),
         Choice("Because the graph is a tree, and trees must be walked that way.",
                "A computational graph is a DAG, not a tree: a value used twice has two "
                "consumers, which is exactly why the order matters."),
         Choice("So that the forward values are recomputed in the right order.",
                "The backward pass reads the values stored by the forward pass; it "
                "recomputes nothing.")],
    ),
    Question(
        "Why is the lesson's `topo_order` iterative rather than recursive?",
        [Choice("A recursive sort visits nodes twice.",
                "With a visited set, a recursive sort visits each node once too."),
         Choice("Recursion cannot handle a value used twice.",
                "It can: the visited set handles shared nodes either way."),
         Choice("Python's recursion limit: a deep graph (a chain of 100,000 tanh) would "
                "raise RecursionError.",
                "A recursive depth-first search needs one stack frame per level, and Python "
                "stops at about 1,000. An explicit stack has no such limit.", correct=True)],
    ),
    Question(
        "A network has a million parameters and one scalar loss. Why train it with reverse "
        "mode and not forward mode?",
        [Choice("Reverse mode gives the whole gradient in one backward pass; forward mode "
                "needs one pass per parameter.",
                "Reverse mode computes uᵀJ per pass, and with one output that is the whole "
                "gradient. The price is memory: the forward values are kept until backward.",
                correct=True),
         Choice("Forward mode is less accurate.",
                "Both are exact up to rounding; they differ in cost, not accuracy."),
         Choice("Reverse mode needs less memory.",
                "The opposite: reverse mode keeps the whole forward graph until backward "
                "(the reason long unrolls are truncated)."),
         Choice("Forward mode cannot handle the chain rule.",
                "It applies the chain rule too, from the inputs forward, one direction "
                "(one Jacobian-vector product) per pass.")],
    ),
])
