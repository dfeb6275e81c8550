"""Scans: what a surface adds around the engine. A scan takes a source, has
the engine judge what it yields, and adds its own: history's introducing
commits, refs and repeated versions; the audit of a directory; the purge
script for what history should lose."""
