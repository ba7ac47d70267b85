"""File I/O: PSF files and TIFF stacks with their pixel size and axes."""
