"""The bundled sources: the ACL 2024 guide and four 2024 Anthology collections (see anthology/README.md)."""
