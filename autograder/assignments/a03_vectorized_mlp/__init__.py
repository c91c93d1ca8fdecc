"""Assignment 03_vectorized_mlp: its task specs, references, sandbox calls and sample students (see ../__init__.py)."""
