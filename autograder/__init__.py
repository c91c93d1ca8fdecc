"""Tamper-proof grading for the course's nbgrader assignments.

Trusted code (this package) decides every score; ``autograder.sandbox`` is the only part that
runs inside the student's process. ``python -m autograder --help`` lists the commands.
"""

ASSIGNMENTS = (
    "01_finite_differences",
    "02_scalar_backprop",
    "03_vectorized_mlp",
    "04_cnn_attention_backward",
    "05_autodiff_internals",
)
