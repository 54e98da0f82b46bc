"""Tally: payment reconciliation. Bills in, breaks out, settled under control."""

__version__ = "0.1.0"
