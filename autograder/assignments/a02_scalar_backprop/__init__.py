"""Assignment 02_scalar_backprop: its task specs, references, sandbox calls and sample students (see ../__init__.py)."""
