"""The ontology and SHACL shapes, shipped inside the package as `kg.ontology`."""
