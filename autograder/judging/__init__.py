"""Judging: the task-spec format (``spec``), comparisons with the references (``compare``),
named mistakes (``diagnosis``), scores (``judge``, ``results``) and safe display of student text
(``text``). Pure functions of arrays: no file, process or notebook is touched here, and the
student install ships this package so that a self-check says what the grader would."""
