"""Limits: the one memory budget (`--max-memory`), the time budgets every computation runs under,
helper processes that die with their parent, and the one "did you mean" for what a user mistyped
(`spelling`)."""
