"""`python -m backpath` runs the command line."""

from backpath.entry import main

main()
