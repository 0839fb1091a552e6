"""`python -m backpath` runs the command line."""

from .entry import main

main()
