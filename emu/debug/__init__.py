"""Debugging and teaching aids: -d logging, the block viewer, the gdb stub."""
