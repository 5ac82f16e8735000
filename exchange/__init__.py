"""exchange: see its issue; empty until then."""
