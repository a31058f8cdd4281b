"""What pyproject.toml cannot say: the repository's top-level presets/ folder ships inside the
package as playground/builtin_presets, so an installed wheel has the built-in presets; the guided
tours and their small models (playground/formats/tours) ship as package data."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["playground*"]) + ["playground.builtin_presets"],
      package_dir={"playground.builtin_presets": "presets"},
      package_data={"playground.builtin_presets": ["*.json"],
                    "playground.formats": ["tours/*.json", "tours/models/*.pt"]})
