"""The end-of-lesson quiz: an output size, why the weight gradient sums, a receptive field, why
two LSTMs."""

from __future__ import annotations

from minigrad.course.quiz import Choice, NumericQuestion, Question, Quiz

QUIZ = Quiz("10", [
    NumericQuestion(
        "A 32x32 image goes through a 5x5 convolution with stride 2 and padding 1. How many "
        "rows does the output have?",
        answer=15,
        tolerance=0,
        explanation="(H + 2p − k) // s + 1 = (32 + 2 − 5) // 2 + 1 = 29 // 2 + 1 = 15: "
                    "windows start every 2 pixels, and a last window that would stick out "
                    "of the padded image is left out.",
        mistakes=[(14, "That is without the padding: (32 − 5) // 2 + 1 = 14. The padding "
                       "adds a row of zeros on each side first."),
                  (30, "That ignores the stride: with stride 1 it would be 32 + 2 − 5 + 1 = "
                       "30; stride 2 keeps every second window."),
                  (16, "Halving the size is what stride 2 does with 'same' padding for an "
                       "even kernel; with k = 5 and p = 1 the formula gives 15.")],
        hint="Count the windows: (H + 2p − k) // s + 1.",
    ),
    Question(
        "Exercise 10.3: why is the weight gradient a SUM over the images of the batch (and, "
        "inside each product, over the output positions)?",
        [Choice("Because the loss is a sum of squares.",
                "The loss here is any scalar; the sum comes from how W is used, not from the "
                "loss's form."),
         Choice("To average out the noise of the minibatch.",
                "A mean would divide by N; the gradient is a plain sum of the contributions, "
                "whatever the noise."),
         Choice("Because one filter is applied at every position of every image: each use "
                "contributes to dL/dW, and the chain rule adds the contributions of all uses.",
                "Weight sharing: the same W makes every output entry, so G @ colsᵀ sums over "
                "positions and the images' products add up.", correct=True),
         Choice("Because im2col copies each pixel several times.",
                "That is why col2im ADDS overlapping patches back in the INPUT's gradient; the "
                "weight gradient sums for another reason.")],
    ),
    NumericQuestion(
        "Two 3x3 convolutions, stride 1, are stacked. How many input pixels wide is the "
        "receptive field of one output unit of the second?",
        answer=5,
        tolerance=0,
        explanation="Each 3x3 layer at stride 1 widens the field by k − 1 = 2: 1 + 2 + 2 = 5. "
                    "Two stacked 3x3 layers see as far as one 5x5 layer, with fewer weights.",
        mistakes=[(9, "Fields do not multiply: the second layer sees 3 units of the first, "
                      "which overlap and together cover 5 pixels."),
                  (6, "3 + 3 counts the shared pixels twice: each layer adds k − 1 = 2, "
                      "starting from 1."),
                  (3, "That is one layer's field; the second layer's units see three "
                      "neighbouring units of the first.")],
        hint="Start from 1 pixel and add k − 1 per layer (times the jump, here 1).",
    ),
    Question(
        "The paper steps its convnet with two LSTMs, one for the convolution kernels and one "
        "for everything else. Why not one LSTM for all coordinates?",
        [Choice("One LSTM cannot handle 21,882 coordinates.",
                "It can: coordinates are batch rows, so any number of them shares the same "
                "small set of weights."),
         Choice("Kernel entries and fully connected weights play different roles and get "
                "gradients with different statistics; each LSTM can learn the update rule "
                "that suits its group, for twice the weights φ, still independent of the "
                "network's size.",
                "The paper's reason: separate optimizers for the two kinds of layer. Each is "
                "still coordinatewise, so the cost stays small.", correct=True),
         Choice("Convolution kernels need 2-d inputs to the LSTM.",
                "Every coordinate is still read on its own (its gradient, preprocessed); no "
                "LSTM sees a kernel's shape."),
         Choice("Two LSTMs run twice as fast.",
                "They step the same coordinates in total, so the work is the same.")],
    ),
])
