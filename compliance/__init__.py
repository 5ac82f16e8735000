"""compliance: see its issue; empty until then."""
