"""Tests of reading pathway files: YAML, the cache, the bundled list."""
