"""What the napari hub and PyPI read besides the code: licence, citation, metadata, typing marker, pictures."""

from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_bsd3_licence_file_matches_the_metadata():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "napari-zssr contributors" in text
    assert pyproject()["project"]["license"] == {"text": "BSD-3-Clause"}


def test_citation_cites_the_zssr_paper_and_this_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert citation["title"].startswith("napari-zssr")
    assert "version" not in citation  # the version has one source, napari_zssr/_version.py
    paper = citation["preferred-citation"]
    assert "Zero-Shot" in paper["title"] and paper["year"] == 2018 and "CVPR" in paper["collection-title"]
    assert [author["family-names"] for author in paper["authors"]] == ["Shocher", "Cohen", "Irani"]


def test_metadata_has_authors_urls_and_the_typing_marker():
    project = pyproject()
    assert project["project"]["authors"] == [{"name": "napari-zssr contributors"}]
    assert {"Documentation", "napari plugin"} <= set(project["project"]["urls"])
    for target in project["project"]["urls"].values():
        assert (ROOT / target).is_file(), target
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["napari_zssr"]
    assert (ROOT / "src" / "napari_zssr" / "py.typed").is_file()


def test_napari_hub_description_and_readme_picture():
    description = (ROOT / ".napari-hub" / "DESCRIPTION.md").read_text()
    assert "ZSSR super-resolution" in description and "CVPR 2018" in description
    assert "](docs/images/widget.png)" in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "images" / "widget.png").is_file()


def test_no_extra_pins_the_deprecated_pyqt5():
    extras = pyproject()["project"]["optional-dependencies"]
    assert not [dependency for extra in ("napari", "dev") for dependency in extras[extra]
                if "pyqt5" in dependency.lower()]
    assert any(dependency.startswith("napari[") for dependency in extras["dev"])  # the tests need a Qt binding
