"""kg: build a validated RDF knowledge graph of scholarly publications and answer questions."""
