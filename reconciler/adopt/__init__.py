"""Import and adoption: live state of both stores -> client files (SPEC §6)."""
