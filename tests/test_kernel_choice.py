import numpy as np
import pytest

from napari_zssr.core.optics import Optics
from napari_zssr.io.tiff import write_imagej_tiff
from napari_zssr.kernel_choice import KernelChoice, psf_fwhm_pixels, resolve_kernel
from napari_zssr.sample import gaussian_psf


def test_none_is_the_bicubic_kernel():
    resolved = resolve_kernel(KernelChoice(), 2, None)
    assert resolved.kernel is None and resolved.info["source"].startswith("none")


def test_optics_kernel_and_its_record():
    optics = Optics(1.2, 600, refractive_index=1.333)
    resolved = resolve_kernel(KernelChoice("optics", optics=optics), 2, 0.108)
    assert resolved.kernel.sum() == pytest.approx(1.0)
    assert resolved.info["source"] == "optics" and resolved.info["na"] == 1.2
    # vectorial FWHM at NA 1.2 in water: 0.560 lambda/NA
    assert resolved.info["psf_fwhm_px"] == pytest.approx(0.560 * 0.6 / 1.2 / 0.108, rel=0.01)


def test_optics_without_pixel_size_is_a_clear_error():
    with pytest.raises(ValueError, match="pixel size"):
        resolve_kernel(KernelChoice("optics", optics=Optics(1.2, 600, refractive_index=1.333)), 2, None)


def test_psf_file_source(tmp_path):
    path = tmp_path / "psf.tif"
    write_imagej_tiff(path, (gaussian_psf(1.5) * 1000 + 10).astype(np.float32), "YX", (0.05, 0.05))
    resolved = resolve_kernel(KernelChoice("psf", psf_path=str(path)), 2, 0.1)
    assert resolved.kernel.sum() == pytest.approx(1.0)
    assert resolved.info == {"source": "psf", "psf_path": str(path), "psf_pixel_size_um": None,
                             "pixel_size_um": 0.1}


def test_estimate_is_left_to_the_run():
    assert resolve_kernel(KernelChoice("estimate"), 2, None).kernel == "estimate"


@pytest.mark.parametrize(("kwargs", "message"), [({"kind": "bead"}, "kernel source"), ({"kind": "psf"}, "PSF file"),
                                                 ({"kind": "optics"}, "optics")])
def test_incomplete_sources_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KernelChoice(**kwargs)


def test_confocal_fwhm_is_smaller():
    widefield = psf_fwhm_pixels(Optics(1.4, 520), 0.05)
    confocal = psf_fwhm_pixels(Optics(1.4, 520, modality="confocal", excitation_wavelength=488), 0.05)
    assert confocal < widefield
