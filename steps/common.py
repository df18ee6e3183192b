"""Steps shared by every feature."""
