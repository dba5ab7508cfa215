"""A database as newsmon made it before its schema had versions, and what it looked like."""
