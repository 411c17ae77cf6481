"""samkit's version: the one place it is written (pyproject.toml reads it from here)."""

#: the installed samkit version (PEP 440), recorded in every run's provenance
__version__ = "0.1.0"
