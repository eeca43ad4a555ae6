"""Stand-in for the scikit-learn image's own package (see ../README.md)."""
