"""The training loop's pacing: ticks a little shorter than the page's measured frame time, and
speed "max" trains for the time of a tick that its frame leaves free, in slices that end by then."""

import pytest

from server.pacing import ChunkSizer, max_training_seconds, tick_seconds


def test_the_loop_ticks_a_little_faster_than_the_page_draws():
    # So a frame is waiting at each of the page's animation frames; credits stop the surplus.
    for fps in (1, 30, 60):
        assert 0.85 / fps < tick_seconds(fps) < 1.0 / fps


def test_max_trains_for_the_tick_less_the_time_its_frame_takes_to_build():
    tick = tick_seconds(60)
    assert max_training_seconds(60, 0.0, 0.004) == pytest.approx(tick)
    assert max_training_seconds(60, 0.003, 0.001) == pytest.approx(tick - 0.003)
    # A page drawing slower leaves more time per frame: more iterations per frame.
    assert max_training_seconds(20, 0.003, 0.001) > 2 * max_training_seconds(60, 0.003, 0.001)


def test_max_trains_one_slice_at_least_when_frames_take_all_the_time():
    assert max_training_seconds(60, 0.050, 0.004) == 0.004


def test_a_chunk_fits_in_the_time_left_and_in_a_slice():
    sizer = ChunkSizer(slice_seconds=0.004)
    sizer.measured(100, 0.002)  # 20 us an iteration: 200 fit in a slice
    assert sizer.size == 200
    assert sizer.fitting(1.0) == 200  # a slice at most, however much time is left
    assert sizer.fitting(0.001) == 50  # what ends by the deadline
    assert sizer.fitting(0.0) == sizer.fitting(-0.01) == 1  # one at least: the tick moves on
