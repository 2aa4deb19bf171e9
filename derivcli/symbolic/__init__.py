"""SymPy work: fast printing of formulas, and simplify/series/CSE under a hard time budget."""
