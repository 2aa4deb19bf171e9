"""Differentiation: the working dtype and device, the prepared expression (`Setup`), autograd gradients, higher
orders and Taylor mode."""
