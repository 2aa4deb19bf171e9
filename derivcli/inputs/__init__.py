"""Inputs: `--NAME VALUE` bindings, names, tensor values and the files values come from, all untrusted and bounded
before anything is allocated."""
