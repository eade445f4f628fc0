"""Runnable examples; installed with the package as memwarden.examples."""
