"""The one table of supported functions: each entry's SymPy form, torch form and aliases, and the SymPy and torch
functions the table names that neither library has as one function."""
