"""Tests of the pure core: conditions, the compiled program, the outline and its serialisers."""
