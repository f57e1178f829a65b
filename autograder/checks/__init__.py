"""Hidden checks, one module per assignment, each exposing ``REGISTRY``."""
