"""Image options on the page: which images are scored again, the channel questions, the window note."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


_STALE = """async () => {
  const m = await import('/static/js/image-options.js');
  const own = (high, bits) => ({ low: 0, high, bits, source: `${bits}-bit: the data's range` });
  const sent = { plane: null, channel: null, window: null };
  const image = (id, status, window, extra = {}) => ({
    id, status, scoredWith: sent, image: window && { window, data_window: window }, ...extra,
  });
  const curve = {
    imageOptions: { plane: null, window: 'plate' },
    wells: [
      image(1, 'done', own(4095, 12)),
      image(2, 'done', own(2047, 11)),
      image(3, 'done', null),  // 8 bit: no window of its own
      image(4, 'scoring', own(4095, 12)),  // looked at when it comes back
      image(5, 'problem', null, { problem: { kind: 'choose_channel', message: '', channels: [] } }),
      image(6, 'queued', null, { scoredWith: null }),
    ],
  };
  const plate = m.curvePlateWindow(curve);
  const before = m.staleImages(curve).map((w) => w.id);
  for (const w of curve.wells) if (w.status === 'done') w.scoredWith = m.scoreOptions(curve, w);
  const after = m.staleImages(curve).map((w) => w.id);
  curve.imageOptions = { plane: 0, window: 'file' };
  const replaned = m.staleImages(curve).map((w) => w.id);
  const chosen = m.scoreOptions(curve, { channel: 1 });
  return { plate, before, after, replaned, chosen,
           offered: m.offeredOptions(curve), untouched: m.offeredOptions({ wells: [] }) };
}"""


def test_images_are_scored_again_when_their_options_are_out_of_date(origin_page: Any):
    """image-options.js: the plate's window comes from every image read; stale images are found, once."""
    got = origin_page.evaluate(_STALE)
    plate = got["plate"]
    assert (plate["low"], plate["high"], plate["bits"]) == (0, 4095, 12)
    assert plate["source"] == "plate: the widest of 3 images' windows"  # 1, 2 and 4 were read
    assert got["before"] == [1, 2, 3] and got["after"] == []
    assert got["replaned"] == [1, 2, 3]  # a plane chosen: every scored image again
    assert got["chosen"] == {"plane": 0, "channel": 1, "window": None}
    assert got["offered"] == {"planes": 1, "deep": True, "plane": 0, "window": "file"}
    assert got["untouched"] == {"planes": 1, "deep": False, "plane": None, "window": "file"}


def test_files_asking_for_a_channel_are_grouped_by_the_channels_they_hold(origin_page: Any):
    asking = """async () => {
      const m = await import('/static/js/image-options.js');
      const ask = (n, names) => ({ status: 'problem', name: n, problem: { kind: 'choose_channel',
        message: `holds ${names.length}`, channels: names.map((name, index) => ({ index, name })) } });
      const images = [ask('a', [null, null]), ask('b', ['DAPI', 'GFP']), ask('c', [null, null]),
                      { status: 'problem', name: 'd', problem: { kind: 'corrupt', message: 'x' } },
                      { status: 'done', name: 'e', problem: null }];
      return m.channelQuestions(images).map((q) => [q.images.map((i) => i.name), q.channels, q.message]);
    }"""
    assert origin_page.evaluate(asking) == [
        [["a", "c"], [{"index": 0, "label": "channel 1"}, {"index": 1, "label": "channel 2"}], "holds 2"],
        [["b"], [{"index": 0, "label": "DAPI"}, {"index": 1, "label": "GFP"}], "holds 2"],
    ]


def test_a_chosen_window_is_named_and_the_default_goes_without_saying(origin_page: Any):
    notes = """async () => {
      const m = await import('/static/js/image-options.js');
      const image = { window: { low: 12.5, high: 3921.25, source: 'as asked' } };
      const eight = { window: null };  // an 8-bit image: never remapped
      return [m.windowNote(image, 'percentile'), m.windowNote(image, null), m.windowNote(eight, 'plate')];
    }"""
    assert origin_page.evaluate(notes) == [
        "mapped to 8 bit by the window 12.5–3921.25 (as asked)",
        None,
        None,
    ]
