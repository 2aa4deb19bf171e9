"""Lowering: a SymPy expression becomes a Program, a flat list of torch operations, with the numerically stable
rewrites."""
