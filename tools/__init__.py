"""Developer tools beside the engine: benchmarks, the reliability drill, the gazetteer builder.

Run them from the repository root as ``python -m tools.NAME`` (``--help`` says how). They are not
part of the installed package.
"""
