"""The tenant's home page."""
