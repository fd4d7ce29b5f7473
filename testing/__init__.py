"""Clearly named stand-ins for tests, benchmarks and demos: scripted and oracle engines, and
builders for small test models. The product never imports this package."""
