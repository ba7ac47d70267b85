"""Packaging: one version source, no package-internal imports of ``napari_zssr``, light imports for napari's hooks."""

import subprocess
import sys
from pathlib import Path

import napari_zssr

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_version_has_one_source():
    from napari_zssr._version import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
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


def test_magicgui_is_an_extra_of_the_widget():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dependency.startswith("magicgui") for dependency in project["dependencies"])
    assert any(d.startswith("magicgui") for d in project["optional-dependencies"]["napari"])
    assert any(d.startswith("magicgui") for d in project["optional-dependencies"]["dev"])
