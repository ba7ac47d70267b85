import pytest

from napari_zssr.core.units import shown_bytes


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 bytes"), (1023, "1023 bytes"), (1024, "1.0 KiB"), (3000, "2.9 KiB"), (2**20, "1.0 MiB"),
    (7.5 * 2**30, "7.5 GiB"), (2**40, "1024.0 GiB"),  # GiB the largest unit: memory is counted in it
])
def test_sizes_are_shown_in_the_largest_binary_unit_they_fill(count, text):
    assert shown_bytes(count) == text


def test_whole_numbers_are_integers_of_python_or_numpy_but_no_bools():
    import numpy as np

    from napari_zssr.core.units import is_whole_number

    assert all(is_whole_number(value) for value in (0, 7, np.int64(3), np.uint8(2)))
    assert not any(is_whole_number(value) for value in (True, np.True_, 2.0, "2", None))
