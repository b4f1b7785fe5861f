"""studio/ui/handlers/dataset.py: the Dataset tab's pages, filters and charts."""
import math

import pytest

from studio.ui.handlers import dataset as hd
from studio.ui.handlers.common import ALL_TOPICS, PAGE_SIZE


def test_dataset_pages_filter_and_clamp(studio):
    page = hd.dataset_page(studio.data, "train", ALL_TOPICS, "", 1)
    assert len(page.examples) == PAGE_SIZE and page.pages == math.ceil(48 / PAGE_SIZE)
    assert page.caption.startswith("Page 1 of")
    last = hd.dataset_page(studio.data, "train", None, None, 999)
    assert last.page == last.pages - 1 and last.examples
    topic = studio.data.topics("train")[0]
    filtered = hd.dataset_page(studio.data, "train", topic, "", 1)
    assert filtered.examples and all(ex.topic == topic for ex in filtered.examples)
    empty = hd.dataset_page(studio.data, "train", None, "zzzz-no-such-word", 1)
    assert empty.total == 0 and empty.caption == "No dialogues match."
    with pytest.raises(ValueError):
        hd.dataset_page(studio.data, "train", None, "", "two")
    ex = filtered.examples[0]
    assert hd.find_example(studio.data, "train", ex.id) is ex
    assert topic in hd.example_title(ex)


def test_dataset_charts_count_tokens(studio):
    stats = hd.DatasetStats(studio.data, studio.base.path)
    lengths, topics = stats.figures("train", ALL_TOPICS, "")
    assert stats.unit == "tokens" and "tokens" in lengths.layout.title.text
    assert sum(topics.data[0].x) == 48
    _, one_topic = stats.figures("train", studio.data.topics("train")[0], "")
    assert len(one_topic.data[0].y) == 1


@pytest.mark.parametrize("bad", [0, -3, "x", 2.5, float("nan")])
def test_a_bad_page_number_keeps_the_page_shown_and_says_why(bad):
    page, problem = hd.checked_page(bad, 3)
    assert page == 3 and problem.startswith("The page number must be")


def test_a_good_page_number_passes():
    assert hd.checked_page("2", 1) == (2, "")
    assert hd.checked_page(None, 4) == (1, "")
