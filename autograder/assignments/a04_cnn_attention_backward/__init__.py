"""Assignment 04_cnn_attention_backward: its task specs, references, sandbox calls and sample students (see ../__init__.py)."""
