"""`backpath validate`: a pathway checked the way a compiler checks code (cases, invariants, lint)."""
