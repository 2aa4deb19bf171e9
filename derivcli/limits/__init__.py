"""Limits: the one memory budget (`--max-memory`), the time budgets every computation runs under,
helper processes that die with their parent, the one "did you mean" for what a user mistyped
(`spelling`), and room on the stack for deep expressions (`recursion`)."""
