"""The `backpath` command line (typer): the only place that knows about options, exit codes and consoles."""
