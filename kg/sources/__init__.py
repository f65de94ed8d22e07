"""Readers, one module per source kind; each yields records from kg.records."""
