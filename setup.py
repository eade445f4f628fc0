"""Packaging that pyproject.toml cannot say: the repository's examples/ ship in the wheel as
memwarden.examples (python -m memwarden.examples.leaky_app), while staying runnable from a
checkout as examples/*.py. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "memwarden.examples"],
    package_dir={"": "src", "memwarden.examples": "examples"},
)
