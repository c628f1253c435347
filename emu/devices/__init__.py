"""Emulated devices; each declares its ports and keeps versioned, named state."""
