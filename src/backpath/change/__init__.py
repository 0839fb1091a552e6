"""Change control: `backpath diff` (two pathway versions over the same records) and `backpath graph`."""
