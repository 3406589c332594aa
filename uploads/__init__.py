"""Uploads: the member's draft, resumable document uploads and the final transmission."""
