"""Many points and many requests: compiled expressions over arrays, streams and batch, forked workers, and Dask
clusters."""
