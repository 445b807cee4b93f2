"""One module per journey."""
