import numpy as np
import pytest
from unjpeg.data.degradations import (
    RealDegradation,
    degrade_real,
    draw_quality,
    draw_subsampling,
    encode_real,
    ijg_tables,
    parse_subsampling_weights,
    random_tables,
)
from unjpeg.data.jpeg import (
    REAL_QUALITY_RANGE,
    decode_jpeg,
    jpeg_bytes,
    quant_tables,
    sampling_factors,
)

SUBSAMPLING_OF_FACTORS = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0"}


def region(size=40, channels=3, seed=0):
    y, x = np.mgrid[0:size, 0:size]
    base = 128 + 90 * np.sin(x / 4.0 + y / 7.0)[..., None] * np.ones(channels)
    noise = np.random.default_rng(seed).integers(-25, 26, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [1, 10, 49, 50, 75, 95, 100])
def test_ijg_tables_are_the_ones_pillow_writes(quality):
    np.testing.assert_array_equal(ijg_tables(quality), quant_tables(jpeg_bytes(region(16), quality))[0])


def test_random_tables_stay_baseline_and_leave_the_ijg_family():
    tables = random_tables(80, 1.0, np.random.default_rng(0))
    assert tables.shape == (2, 64) and tables.min() >= 1 and tables.max() <= 255
    assert not any(np.array_equal(tables, ijg_tables(q)) for q in range(1, 101))
    # Within a factor 2 of the IJG step per frequency (spread 1), up to rounding half a step of 4 or more.
    ratio = tables / ijg_tables(80)
    assert ijg_tables(80).min() == 4 and ratio.min() >= 0.5 - 0.125 and ratio.max() <= 2.0 + 0.125


def test_quality_mixture_puts_about_half_above_75():
    rng = np.random.default_rng(0)
    qualities = np.array([draw_quality(REAL_QUALITY_RANGE, RealDegradation(), rng) for _ in range(4000)])
    assert qualities.min() >= 5 and qualities.max() <= 100
    # Half uniform 5-100 (25/96 above 75), half uniform 70-100 (25/31 above 75): 0.533.
    assert abs((qualities > 75).mean() - 0.533) < 0.03
    assert (qualities <= 30).mean() > 0.1  # the low end is still trained


def test_subsampling_varies_and_gray_has_one_component():
    rng = np.random.default_rng(1)
    mix = RealDegradation(double_share=0.0)
    seen = {sampling_factors(encode_real(region(), (5, 100), mix, rng)[0])[0] for _ in range(40)}
    assert seen == set(SUBSAMPLING_OF_FACTORS)
    assert len(sampling_factors(encode_real(region(channels=1), (5, 100), mix, rng)[0])) == 1


def test_subsampling_weights_set_the_share_of_each_layout():
    rng = np.random.default_rng(5)
    half_420 = RealDegradation(subsampling_weights=(1.0, 1.0, 2.0))
    drawn = np.array([draw_subsampling(half_420, rng) for _ in range(4000)])
    assert abs((drawn == "4:2:0").mean() - 0.5) < 0.03 and abs((drawn == "4:4:4").mean() - 0.25) < 0.03
    only_444 = RealDegradation(subsampling_weights=(1.0, 0.0, 0.0), double_share=0.0)
    files = [encode_real(region(), (5, 100), only_444, rng)[0] for _ in range(10)]
    assert {sampling_factors(data)[0] for data in files} == {(1, 1)}


def test_subsampling_weights_parse_by_flag_name_and_refuse_bad_input_in_one_line():
    assert parse_subsampling_weights("420=2,422=1,444=1") == (1.0, 1.0, 2.0)
    assert parse_subsampling_weights("4:2:0=3") == (0.0, 0.0, 3.0)  # a layout not named gets 0
    for text, message in [
        ("411=1", "LAYOUT among 444,422,420"),
        ("420=-1", "WEIGHT >= 0"),
        ("420=x", "got '420=x'"),
        ("420", "got '420'"),
        ("420=0,444=0", "needs a positive weight"),
    ]:
        with pytest.raises(ValueError, match=message) as error:
            parse_subsampling_weights(text)
        assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="one per 4:4:4, 4:2:2, 4:2:0"):
        RealDegradation(subsampling_weights=(1.0, 1.0))


def test_the_file_tables_reproduce_the_patch():
    # Decode check: re-encoding the region with the tables and sampling the file reports gives the same
    # pixels, so the tables that travel with a patch are the ones that made it.
    rng = np.random.default_rng(2)
    mix = RealDegradation(double_share=0.0, custom_table_share=0.5)
    for _ in range(12):
        decoded, data, shift = degrade_real(region(), (5, 100), mix, rng)
        steps, _ = quant_tables(data)
        subsampling = SUBSAMPLING_OF_FACTORS[sampling_factors(data)[0]]
        assert shift == (0, 0)
        np.testing.assert_array_equal(decode_jpeg(jpeg_bytes(region(), 75, subsampling, steps)), decoded)


def test_double_compression_shifts_the_grid_and_custom_tables_appear():
    rng = np.random.default_rng(3)
    mix = RealDegradation(double_share=0.5, custom_table_share=0.5)
    shifts, custom = [], 0
    for _ in range(40):
        decoded, data, shift = degrade_real(region(), (5, 100), mix, rng)
        assert decoded.shape == (40 - shift[0], 40 - shift[1], 3)
        shifts.append(shift)
        steps, _ = quant_tables(data)
        custom += not any(np.array_equal(steps, ijg_tables(q)) for q in range(1, 101))
    doubles = [s for s in shifts if s != (0, 0)]
    assert 10 <= len(doubles) <= 30 and all(0 <= v < 8 for s in doubles for v in s)
    assert 10 <= custom <= 30


def test_small_regions_are_never_double_compressed():
    rng = np.random.default_rng(4)
    mix = RealDegradation(double_share=1.0)
    assert all(encode_real(region(12), (5, 100), mix, rng)[1] == (0, 0) for _ in range(10))
