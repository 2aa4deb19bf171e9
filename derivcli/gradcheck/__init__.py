"""`derivcli check`: the gradient of the user's own PyTorch code (imported only from a path typed on the command
line) against a float64 reference, with verdicts per input and parameter."""
