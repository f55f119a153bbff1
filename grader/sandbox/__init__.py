"""The student host: the one place student code runs, confined before it loads any of it."""
