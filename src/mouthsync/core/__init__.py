"""Shared types, user-facing errors, atomic output, caching and progress used by every stage."""
