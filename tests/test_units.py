import pytest

from napari_zssr.core.units import shown_bytes


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"), (3000, "2.9 KiB"), (2**20, "1.0 MiB"),
    (7.5 * 2**30, "7.5 GiB"), (2**40, "1024.0 GiB"),  # GiB the largest unit: memory is counted in it
])
def test_sizes_are_shown_in_the_largest_binary_unit_they_fill(count, text):
    assert shown_bytes(count) == text
