"""REAL/FAKE in one place."""
