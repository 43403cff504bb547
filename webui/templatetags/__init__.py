"""Template tags of the browser UI."""
