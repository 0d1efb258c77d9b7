"""sector: a language model teaches itself a skill through its own chain of thought (SECToR)."""

__version__ = "0.1.0"
