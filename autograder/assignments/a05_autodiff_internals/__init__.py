"""Assignment 05_autodiff_internals: its task specs, references, sandbox calls and sample students (see ../__init__.py)."""
