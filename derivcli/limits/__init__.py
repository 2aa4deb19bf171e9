"""Limits: the one memory budget (`--max-memory`) and the time budgets every computation runs under."""
