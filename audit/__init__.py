"""Audit: one append-only log of PIN, letter, draft, submission and staff events."""
