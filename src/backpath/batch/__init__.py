"""`backpath batch`: many records in, one result each out, in order, in chunks and worker processes."""
