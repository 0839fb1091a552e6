"""`python -m backpath` runs the command line."""

from .cli import main

main()
