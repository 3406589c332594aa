"""Small shared helpers with no models and no imports of other apps: encryption at rest, request helpers."""
