"""Entities, rules and the permission table. No AWS in here."""
