"""The pure core: a checked pathway and answers in, a result out (no files, terminal, clock or randomness)."""
