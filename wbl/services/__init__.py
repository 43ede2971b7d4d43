"""Services: take a SQLAlchemy session, do one job, never commit (the caller does)."""
