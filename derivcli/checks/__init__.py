"""Checks: every verdict on a derivative (SymPy's derivative against a 30-digit reference, finite differences,
matrix checks), kinks and the diagnosis of non-finite numbers."""
