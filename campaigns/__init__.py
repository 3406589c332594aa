"""The campaigns app: PIN letters for many members at once, from a list, each exactly once."""
