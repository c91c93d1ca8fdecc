"""The nbgrader course: its layout, building it from the text sources, grading a batch of
submissions into the gradebook, feedback pages, CSV export, and the demo with sample students."""
