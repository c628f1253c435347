"""x87 floating point (see issue [system]); the table rows are decoded already."""
