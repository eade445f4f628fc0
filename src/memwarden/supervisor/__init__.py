"""The supervisor: `memwarden run` keeps programs alive and restarts them past memory limits."""
