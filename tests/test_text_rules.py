"""One rule set for typed text in every domain: a NUL byte or a lone surrogate is a Japanese message, not a 500."""

import pytest

from core.text_rules import text_problem


@pytest.mark.parametrize(
    ("value", "multiline", "allow_emoji", "fragment"),
    [
        ("山田\x00太郎", True, True, "制御文字"),
        ("一行目\n二行目", False, True, "制御文字"),
        ("\ud800", True, True, "使用できない文字"),
        ("山田 ハナ😀", False, False, "絵文字"),
        ("あ" * 4001, True, True, "4,000文字以内"),
        (42, True, True, "文字で入力"),
    ],
)
def test_bad_text_gets_a_japanese_message(value, multiline, allow_emoji, fragment):
    problem = text_problem(value, "項目", 4000, multiline=multiline, allow_emoji=allow_emoji)
    assert problem and fragment in problem


def test_good_text_passes():
    assert text_problem("母の介護と本人のひきこもり 🙏\n訪問予定", "相談内容", 4000, multiline=True) is None


def test_meetings_and_programmes_use_the_same_rules():
    from core.meetings.service import _text
    from core.programs.schemas import Fields

    errors: list = []
    assert _text({"minutes": "議事\x00録"}, "minutes", "議事録", 4000, errors) is None
    assert errors and "制御文字" in errors[0]["message"]
    fields = Fields({"name": "居場所\x00"})
    assert fields.text("name", "名称", 100) == ""
    assert "制御文字" in fields.errors[0]["message"]
