"""The training loop's pacing: ticks a little shorter than the page's measured frame time, and
speed "max" trains for the time of a tick that its frame leaves free, in slices that end by then,
and a tick of speed N trains N iterations when they fit in that time (as many as fit when not)."""

import pytest

from server.pacing import ChunkSizer, max_training_seconds, tick_iterations, tick_seconds


def test_the_loop_ticks_a_little_faster_than_the_page_draws():
    # So a frame is waiting at each of the page's animation frames; credits stop the surplus.
    for fps in (1, 30, 60):
        assert 0.75 / fps < tick_seconds(fps) < 1.0 / fps


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


def test_a_tick_trains_speed_iterations_or_as_many_as_fit_in_what_max_would_train():
    assert tick_iterations(10, 0.004, 0.0001) == 10  # cheap iterations: the whole speed
    assert tick_iterations(10, 0.010, 0.003) == 3  # an lstm over 30 steps: what fits
    assert tick_iterations(10, 0.004, 0.050) == 1  # one at least, however costly
    assert tick_iterations(10, 0.004, 0.0) == 10  # before the first measurement


def test_a_tick_plans_with_the_cpu_time_of_an_iteration():
    sizer = ChunkSizer(0.004)
    sizer.measured(4, elapsed=0.040, cpu=0.008)  # preempted: the wall time says 10 ms each
    assert sizer.cpu_per_iteration == pytest.approx(0.002)
    assert sizer.size == 1  # the slice is sized by the wall time others wait
