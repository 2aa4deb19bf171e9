"""Exploring a function: minimize, the autograd graph, and plots."""
