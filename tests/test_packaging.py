"""Packaging: one version source, light imports for napari's hooks, and what the napari hub and PyPI read besides
the code (licence, citation, metadata, typing marker, pictures)."""

import subprocess
import sys
from pathlib import Path

import yaml

import napari_zssr

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
    project = pyproject()["project"]
    assert project["license"] == "BSD-3-Clause" and project["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # deprecated beside the SPDX string


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

def test_version_has_one_source():
    from napari_zssr._version import __version__

    project = pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "napari_zssr._version.__version__"}
    assert napari_zssr.__version__ == __version__


def test_no_module_imports_the_package_init_and_no_e402_is_silenced():
    for path in (ROOT / "src" / "napari_zssr").rglob("*.py"):
        text = path.read_text()
        assert "from . import __version__" not in text and "from .. import __version__" not in text, path
        assert "noqa: E402" not in text, path


def test_readers_writer_and_sample_do_not_import_torch():
    code = ("import sys, napari_zssr, napari_zssr.napari.reader, napari_zssr.napari.writer, "
            "napari_zssr.napari.sample_data; napari_zssr.__version__; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'magicgui', 'napari')))")
    env_path = str(ROOT / "src")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[]", done.stdout


def test_public_names_load_on_first_use():
    assert set(napari_zssr.__all__) <= set(dir(napari_zssr))
    assert napari_zssr.zssr.__module__ == "napari_zssr.api"
    assert napari_zssr.ProgressEvent.__module__ == "napari_zssr.core.progress"
    from napari_zssr.batch_jobs import UsageError

    assert napari_zssr.UsageError is UsageError  # what batch() raises where the command exits 2
    from napari_zssr.axial import ConstantPlanesWarning

    assert napari_zssr.ConstantPlanesWarning is ConstantPlanesWarning  # zssr_axial's, to filter as the others


def test_magicgui_is_an_extra_of_the_widget():
    project = pyproject()["project"]
    assert not any(dependency.startswith("magicgui") for dependency in project["dependencies"])
    assert any(d.startswith("magicgui") for d in project["optional-dependencies"]["napari"])
    assert any(d.startswith("magicgui") for d in project["optional-dependencies"]["dev"])


def test_the_sample_command_says_in_one_line_why_it_cannot_write(tmp_path):
    (tmp_path / "a_file").write_text("")
    done = subprocess.run([sys.executable, "-m", "napari_zssr.sample", str(tmp_path / "a_file")], capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "cannot write the example into" in done.stderr
    assert "Traceback" not in done.stderr
