"""Output formats of a GradeReport, one module each: terminal table, JSON, Gradescope, GitHub."""
