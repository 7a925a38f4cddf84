"""Scenes: synthetic scenarios, the USGS library, real-scene loaders.

Contract (filled in by the modules of this package):
``make_scene(name, *, seed, **params) -> Scene`` and ``list_scenarios(pattern="*")``.
"""
