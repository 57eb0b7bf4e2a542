"""training/stream.py: the page's random stream (random.js), its rules, and where training uses it.

The reference numbers were printed by static/js/train/random.js (node) for the same seeds; the browser
itself is compared in tests/e2e/test_train_stream.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from training.stream import RandomStream, batch_order, glorot_uniform, head_stream, image_stream

#: random.js randomGenerator(...seed) → first three draws.
JS_DRAWS = {
    (0,): [0.5808233132120222, 0.9898362697567791, 0.257130075013265],
    (7, 123456789, 4000000000, 1): [0.5912355065811425, 0.7465203050523996, 0.9315800431650132],
}


@pytest.mark.parametrize(("seed", "draws"), JS_DRAWS.items())
def test_the_stream_draws_what_random_js_draws(seed, draws):
    assert RandomStream(*seed).uniforms(3).tolist() == draws


def test_a_block_of_draws_continues_where_single_draws_left_off():
    one = RandomStream(5)
    singles = [one.random() for _ in range(4)]
    block = RandomStream(5)
    assert block.uniforms(2).tolist() + block.uniforms(2).tolist() == singles


def test_seed_parts_are_taken_mod_2_32_and_order_matters():
    assert RandomStream(-1).random() == RandomStream(2**32 - 1).random()
    assert RandomStream(1, 2).random() != RandomStream(2, 1).random()
    assert RandomStream(1).random() != RandomStream(1, 0).random()


def test_an_image_stream_is_seeded_by_the_little_endian_words_of_its_digest():
    digest = "ab" * 32  # random.js: new Uint32Array(sha256 bytes) → [0xabababab, 0xabababab]
    assert image_stream(0, digest).uniforms(2).tolist() == [0.6935961961280555, 0.13157612178474665]
    digest = "01020304" + "05060708" + "00" * 24
    assert image_stream(3, digest).random() == RandomStream(3, 0x04030201, 0x08070605).random()
    with pytest.raises(ValueError, match="digest"):
        image_stream(0, "abc")


def test_head_weights_and_orders_follow_random_js():
    stream = head_stream(3, 2)  # random.js: headRandom([3, 2]), glorotUniform(…, 3, 2), batchOrder(…, 10)
    kernel = glorot_uniform(stream, 3, 2)
    assert kernel.dtype == np.float32 and kernel.shape == (3, 2)
    np.testing.assert_array_equal(
        kernel.ravel(),
        np.array([-0.061193160712718964, -0.6278489232063293, 0.6511752009391785,
                  0.03953510522842407, -1.0647460222244263, -0.6513493657112122], np.float32),
    )  # fmt: skip
    assert batch_order(stream, 10).tolist() == [6, 9, 4, 5, 7, 1, 3, 8, 0, 2]


def test_glorot_values_fill_the_keras_limit():
    kernel = glorot_uniform(RandomStream(0), 1280, 10)
    limit = np.sqrt(6 / 1290)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert abs(float(kernel.mean())) < 0.01 * limit


def test_a_batch_order_is_a_permutation_and_changes_every_epoch():
    stream = RandomStream(9)
    first, second = batch_order(stream, 500), batch_order(stream, 500)
    assert sorted(first.tolist()) == list(range(500)) and not np.array_equal(first, second)
