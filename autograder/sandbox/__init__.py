"""Code that runs inside the student's (untrusted) process.

Nothing here decides a score. The harness executes the student's answer cells, calls their
functions on inputs the trusted grader drew, and writes back plain numeric arrays. Everything in
this package may be read or monkey-patched by student code, so it must never hold secrets,
references or hidden tests. It imports NumPy only, never the rest of ``autograder``.
"""
