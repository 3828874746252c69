"""Lesson 10 (convolutions and a learned optimizer for a convnet): the paper's CIFAR experiment,
its method on the digits the course ships.

Everything the notebook ``10_convnet`` computes lives here, so it can be tested headless
(``tests/test_lesson10.py``). The parts, one file each:

* ``convolution.py``: Sections 1 and 2: a convolution as one matrix product. Exercise 10.1,
  im2col with ``sliding_window_view`` (reference :func:`library_im2col`, minigrad's); exercise
  10.2, the forward pass (:func:`library_conv2d`); exercise 10.3, the weight gradient
  (:func:`library_weight_grad`, minigrad's autograd) and its check against central differences
  (:func:`weight_gradient_check`); :func:`out_size`, the picture :func:`draw_im2col`.
* ``filters.py``: Section 3: what filters learn. :class:`SmallConvNet` trained on the digits
  (:func:`train_small_convnet`), the filters over training (:func:`plot_filters`,
  :func:`neighbour_correlation`) and the explorer :func:`make_filters_explorer`.
* ``paper_convnet.py``: Section 4: the paper's convnet (:func:`paper_convnet`), its parameter
  groups (:func:`parameter_table`, :func:`draw_parameter_groups`), output sizes and receptive
  fields (:func:`layer_geometry`) and the explorer :func:`make_geometry_explorer`.
* ``two_lstms.py``: Section 5: two LSTMs meta-trained live on a small convnet
  (:func:`meta_train_two_lstms`, :data:`LIVE`), raced against tuned baselines
  (:func:`race_live`, :func:`describe_race`).
* ``stored_results.py``: Section 6: the paper's convnet optimizer from stored results when they
  exist (:func:`load_convnet_results`, :func:`describe_stored`; :data:`RESULTS_PATH`).
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ`.
"""

from __future__ import annotations

from .convolution import (
    draw_im2col,
    library_conv2d,
    library_im2col,
    library_weight_grad,
    out_size,
    weight_gradient_check,
)
from .filters import (
    SNAPSHOT_STEPS,
    SmallConvNet,
    digits,
    filter_contrast,
    filters_view,
    make_filters_explorer,
    neighbour_correlation,
    plot_filters,
    plot_filters_view,
    plot_training,
    train_small_convnet,
)
from .paper_convnet import (
    draw_parameter_groups,
    geometry_table,
    geometry_view,
    group_sizes,
    layer_geometry,
    make_geometry_explorer,
    paper_convnet,
    paper_convnet_layers,
    parameter_rows,
    parameter_table,
    plot_geometry,
)
from .quiz import QUIZ
from .stored_results import (
    NOT_YET,
    RESULTS_PATH,
    check_against_checkpoint,
    describe_stored,
    load_convnet_results,
    plot_stored,
    shipped_checkpoint,
)
from .two_lstms import (
    LIVE,
    RACE_GRID,
    LiveSettings,
    describe_race,
    live_problem,
    meta_train_two_lstms,
    plot_live,
    plot_race,
    race_live,
    race_table,
    two_lstm_optimizer,
    validation_losses,
    weights_per_group,
)

__all__ = [
    "LIVE",
    "NOT_YET",
    "QUIZ",
    "RACE_GRID",
    "RESULTS_PATH",
    "SNAPSHOT_STEPS",
    "LiveSettings",
    "SmallConvNet",
    "check_against_checkpoint",
    "describe_race",
    "describe_stored",
    "digits",
    "draw_im2col",
    "draw_parameter_groups",
    "filter_contrast",
    "filters_view",
    "geometry_table",
    "geometry_view",
    "group_sizes",
    "layer_geometry",
    "library_conv2d",
    "library_im2col",
    "library_weight_grad",
    "live_problem",
    "load_convnet_results",
    "make_filters_explorer",
    "make_geometry_explorer",
    "meta_train_two_lstms",
    "neighbour_correlation",
    "out_size",
    "paper_convnet",
    "paper_convnet_layers",
    "parameter_rows",
    "parameter_table",
    "plot_filters",
    "plot_filters_view",
    "plot_geometry",
    "plot_live",
    "plot_race",
    "plot_stored",
    "plot_training",
    "race_live",
    "race_table",
    "shipped_checkpoint",
    "train_small_convnet",
    "two_lstm_optimizer",
    "validation_losses",
    "weight_gradient_check",
    "weights_per_group",
]
