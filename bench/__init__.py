"""`make bench`: side-by-side measurements of the gateway against a polling baseline."""
