"""Tiny buggy and correct examples the harness's unit tests run as if they were student code."""
