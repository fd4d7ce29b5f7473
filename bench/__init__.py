"""Benchmark and demo drivers: `tandem bench {spec,latency,infill,codechat}` and `tandem demo`.

They drive the product from outside (through the real server or the public pipeline) and print
JSON. Nothing in the product imports this package.
"""
