"""gateway: see its issue; empty until then."""
