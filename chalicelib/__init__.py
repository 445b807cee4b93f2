"""Sandi: account and verification backend."""
