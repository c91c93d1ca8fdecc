"""Every differentiable Tensor op, one family per file, each forward next to its backward."""
