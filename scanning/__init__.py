"""Malware scanning with ClamAV's daemon and content disarm of PDFs and images; no models, no uploads."""
