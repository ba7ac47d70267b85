"""The named choices of the library's settings: optics modalities, kernel sources and output kinds.

Standard library only, so that a front lists them (the command line's options and ``--help``) without loading torch
and scipy, which take seconds.
"""

from typing import Literal, get_args

Modality = Literal["widefield", "confocal"]
MODALITIES: tuple[str, ...] = get_args(Modality)
#: a confocal pinhole's diameter where none is given, in Airy units
DEFAULT_PINHOLE_AU = 1.0
#: the widest confocal pinhole the optics take, in Airy units
MAX_PINHOLE_AU = 20.0
KernelKind = Literal["psf", "optics", "estimate", "none"]
KERNEL_SOURCES: tuple[str, ...] = get_args(KernelKind)
#: output kind (the suffix of layer and file names, everywhere the same) -> ZSSRResult field
OUTPUTS = {"zssr": "sr", "ensemble_median": "ensemble_median", "residual": "residual",
           "ensemble_spread": "ensemble_spread"}
#: the outputs made unless others are asked for (the spread map is optional)
DEFAULT_OUTPUTS = ("zssr", "ensemble_median", "residual")
#: the outputs in the input's intensities (the residual and the ensemble spread are differences around 0)
INTENSITY_OUTPUTS = ("zssr", "ensemble_median")
