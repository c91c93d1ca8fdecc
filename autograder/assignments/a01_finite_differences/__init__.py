"""Assignment 01_finite_differences: its task specs, references, sandbox calls and sample students (see ../__init__.py)."""
