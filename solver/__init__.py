"""The optimisation core: plain frozen dataclasses in, plain dataclasses out (see README.md)."""
