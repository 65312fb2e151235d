"""Bundle files in, one typed ``Bundle`` out: file parsing, the value types, includes."""
