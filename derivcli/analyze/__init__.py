"""`derivcli analyze`: what f′ and f″ say about a function of one variable on an interval (domain, zeros,
critical and inflection points, monotonicity, concavity, asymptotes, extrema), every claim checked with
autograd at its point."""
