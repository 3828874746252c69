"""The end-of-lesson quiz: BPTT's Jacobian products, the LSTM's cell state, truncation."""

from __future__ import annotations

from minigrad.course.quiz import Choice, Question, Quiz

QUIZ = Quiz("04", [
    Question(
        "In a tanh RNN, each step's Jacobian shrinks a gradient by about 0.5. Compared with "
        "its effect on the last step's input, how much gradient does the input 50 steps "
        "earlier get from the last loss?",
        [Choice("Half as much.",
                "One factor of 0.5 per step, and there are 50 steps in between: the factors "
                "multiply."),
         Choice("About 1/25 (0.5 · 50 steps).",
                "The chain rule multiplies the Jacobians; it does not add them."),
         Choice("About 1e-15 as much (0.5⁵⁰).",
                "BPTT multiplies one Jacobian per step, so the gradient vanishes "
                "geometrically with the distance: the early input barely gets any.",
                correct=True),
         Choice("The same: the weights are shared across steps.",
                "Shared weights make the weight gradient a sum over time, but the gradient "
                "reaching an early step is still a product of Jacobians.")],
    ),
    Question(
        "Why can an LSTM carry a gradient across many steps where a tanh RNN cannot?",
        [Choice("Its gates use sigmoids, which never saturate.",
                "Sigmoids do saturate; the gates are not what carries the gradient."),
         Choice("Its cell state is updated additively, c ← f ⊙ c + i ⊙ g, so ∂cₜ/∂cₜ₋₁ = f, "
                "close to 1 when the forget gate is open.",
                "The gradient along the cell state is multiplied by the forget gate at each "
                "step, not by a weight matrix and a tanh derivative: with f ≈ 1 it "
                "survives.", correct=True),
         Choice("It has four times as many weights.",
                "More weights do not change the product of Jacobians; the additive cell "
                "path does."),
         Choice("Its backward pass clips the gradient.",
                "Clipping tames exploding gradients; it cannot revive vanishing ones, and "
                "the LSTM does not clip.")],
    ),
    Question(
        "Truncated BPTT over T = 24 steps in chunks of k = 8 (steps 1-8, 9-16, 17-24), the "
        "state detached where each chunk starts. Which inputs does the gradient of the loss "
        "at step 12 reach?",
        [Choice("Inputs 1 to 12.",
                "That is full BPTT, what you get when the state is not detached."),
         Choice("Inputs 5 to 12, the last k steps.",
                "Truncation with chunks is not a sliding window: the cut is at the chunk's "
                "start, step 9, for every loss of the chunk."),
         Choice("Input 12 only.",
                "That is a cut at every step. The chunk's graph from step 9 on is kept."),
         Choice("Inputs 9 to 12.",
                "The state entering step 9 was detached, so every loss of the second chunk "
                "sees the inputs from 9 up to its own step.", correct=True)],
    ),
    Question(
        "In your truncated-BPTT loop, what goes wrong if the state carried into a chunk is "
        "NOT detached (and each chunk calls backward)?",
        [Choice("Nothing: detaching only saves a little memory.",
                "The backward of the second chunk then runs into the first chunk's graph: "
                "the cut decides where gradients stop."),
         Choice("The next chunk's backward runs back into the earlier chunks' graph, already "
                "freed (GraphFreedError); kept with retain_graph, the graph and the cost "
                "grow with every chunk: full BPTT.",
                "Detaching keeps the state's values and drops its graph, so each backward "
                "stops at its chunk's start.", correct=True),
         Choice("The LSTM forgets everything between chunks.",
                "That is what restarting from a zero state does. Detaching keeps the values; "
                "only the graph goes."),
         Choice("The losses come out different.",
                "The forward values are the same with or without the cut; only the "
                "gradients differ.")],
    ),
    Question(
        "The fused LSTM cell gives the same numbers as the composed one, faster. What can it "
        "not do?",
        [Choice("Run on a GPU.",
                "Its forward and backward are array operations, which CuPy runs like NumPy."),
         Choice("Compute gradients with respect to its weights.",
                "It has a hand-written backward for all seven inputs, weights included."),
         Choice("Be differentiated twice: its backward is not made of minigrad ops, so "
                "create_graph=True raises.",
                "The paper drops second derivatives anyway; `fused=False` switches back "
                "to the composed cell when they are needed.", correct=True)],
    ),
])
