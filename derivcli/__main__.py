"""`python -m derivcli`."""

from derivcli.cli import run

run()
