"""For scientists: uncertainty propagation (the GUM's law, second order, Monte Carlo) and sensitivity analysis."""
