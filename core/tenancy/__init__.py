"""The tenant wall: which municipality a unit of work belongs to, and the DDL that makes PostgreSQL enforce it."""
