"""Running untrusted code: the bubblewrap sandbox (``isolation``), the per-step limits and
restarts (``runner``), reading what students hand in (``rebuild``) and what the sandbox sends
back (``untrusted``). The code that runs inside the sandbox is ``autograder.sandbox``."""
