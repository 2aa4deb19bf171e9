"""Code for a formula and its gradient (and Hessian) to take away: Python, numpy, torch, JAX and C, with common
subexpressions shared."""
