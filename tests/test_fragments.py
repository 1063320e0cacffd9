"""The choices of a form (ui/fragments.py) are remembered by their values: what a user sees must be what the data is
now, escaped, with their own selection kept."""

from ui.fragments import checkbox_tags, option_tags
from ui.templating import create_environment


def test_an_agency_renamed_shows_its_new_name_on_the_next_page():
    before = option_tags({"a1": "高知市上町社会福祉協議会"}, None)
    after = option_tags({"a1": "高知市上町社協"}, None)
    assert "上町社会福祉協議会" in before and "上町社協<" in after and "社会福祉協議会" not in after


def test_names_are_escaped_and_only_the_chosen_value_is_selected():
    html = option_tags({"x": "<b>A&B</b>", "y": "Y"}, "y")
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html and "<b>" not in html
    assert '<option value="y" selected>Y</option>' in html and '<option value="x">' in html
    # a list where one value was expected selects nothing (as `==` in the template did), and is not an error
    assert " selected" not in option_tags({"x": "X"}, ["x"])


def test_check_boxes_keep_what_the_user_ticked_and_a_lone_value_is_not_split_into_letters():
    html = checkbox_tags("items", {"basic": "基本情報", "plan": "プラン", "p": "P"}, ["plan"])
    assert 'value="plan" checked' in html and 'value="basic">' in html
    lone = checkbox_tags("items", {"plan": "プラン", "p": "P", "a": "A"}, "plan")
    assert 'value="plan" checked' in lone and 'value="p">' in lone and 'value="a">' in lone


def test_the_form_macros_render_through_them():
    env = create_environment()
    page = env.from_string('{% from "cases/_macros.html" import select, checkboxes %}'
                           '{{ select("agency_id", "機関", {"1": "病院<A>"}, {"agency_id": "1"}, []) }}'
                           '{{ checkboxes("items", "情報", {"plan": "プラン"}, {"items": ["plan"]}, []) }}').render()
    assert '<option value="1" selected>病院&lt;A&gt;</option>' in page
    assert '<input type="checkbox" name="items" value="plan" checked> プラン' in page


def test_the_status_badge_and_field_names_read_as_the_list_showed_them():
    from ui.fragments import field_names, status_badge

    assert status_badge("intake", {"intake": "受付"}) == '<span class="status status--intake">受付</span>'
    assert status_badge("reviewed", {"intake": "受付"}) == '<span class="status status--reviewed">reviewed</span>'
    assert field_names(["elderly", "disability", "新分野"], {"elderly": "高齢", "disability": "障害"}) == "高齢・障害・新分野"
    env = create_environment()
    cell = env.from_string("{{ field_names(codes, labels) }}").render(codes=["<x>"], labels={})
    assert cell == "&lt;x&gt;"  # a code shown as it is stays text


def test_a_field_with_a_message_is_marked_invalid_and_described_by_its_hint_and_its_message():
    from ui.fragments import field_error, field_invalid

    errors = [{"field": "kana", "message": "ふりがなは<かな>で"}, {"field": "name", "message": "氏名"}]
    assert field_invalid([], "kana") == "" and field_error([], "kana") == ""
    assert field_invalid([], "kana", "hint-kana") == ' aria-describedby="hint-kana"'
    assert field_invalid(errors, "kana", "hint-kana", "m-") == \
        ' aria-invalid="true" aria-describedby="hint-kana error-m-kana"'
    assert field_invalid(errors, "kana") == ' aria-invalid="true" aria-describedby="error-kana"'
    assert field_error(errors, "kana", "m-") == \
        '<span class="field-error" id="error-m-kana">ふりがなは&lt;かな&gt;で</span>'
    env = create_environment()
    page = env.from_string('{% from "cases/_macros.html" import input %}{{ input("kana", "ふりがな", {}, errors) }}'
                           ).render(errors=errors)
    assert 'aria-invalid="true" aria-describedby="error-kana"' in page and 'id="error-kana">ふりがなは&lt;かな&gt;で<' in page


def test_a_field_keeps_what_was_typed_escaped_and_shows_its_label_hint_and_message():
    env = create_environment()
    errors = [{"field": "members[0].kana", "message": "ふりがなは、ひらがなかカタカナで入力してください"}]
    page = env.from_string(
        '{% from "cases/_macros.html" import input, textarea, csrf %}'
        '{{ input("members-0-kana", "ふりがな", values, errors, required=true, hint="例: やまだ はなこ",'
        ' key="members[0].kana") }}{{ textarea("summary", "相談の概要", values, errors, rows=2) }}{{ csrf("t<k>") }}'
    ).render(values={"members-0-kana": 'Yamada"><script>', "summary": "<b>家賃</b>の滞納"}, errors=errors)
    assert '<label for="f-members-0-kana">ふりがな <span class="required">必須</span></label>' in page
    # what the user typed comes back in the field, as text
    assert 'value="Yamada&#34;&gt;&lt;script&gt;"' in page and "<script>" not in page
    assert ('aria-invalid="true" aria-describedby="hint-members-0-kana error-members[0].kana"' in page)
    assert '<span class="hint" id="hint-members-0-kana">例: やまだ はなこ</span>' in page
    assert '<span class="field-error" id="error-members[0].kana">ふりがなは、ひらがなかカタカナで入力してください</span>' in page
    assert '<textarea id="f-summary" name="summary" rows="2">&lt;b&gt;家賃&lt;/b&gt;の滞納</textarea>' in page
    assert '<input type="hidden" name="csrf_token" value="t&lt;k&gt;">' in page


def test_the_case_list_rows_show_each_case_escaped_with_its_dates_in_wareki_and_a_dash_for_no_review():
    import datetime as dt
    import uuid
    from types import SimpleNamespace

    from core.cases.schemas import FIELD_LABELS, STATUS_LABELS
    from core.cases.search import CaseRow, CasePage

    case_id = uuid.uuid4()
    rows = [
        CaseRow(SimpleNamespace(id=case_id, case_number="R8-0007", received_on=dt.date(2026, 4, 1), status="supporting",
                                fields=["elderly", "poverty"], tags=["見守り", "<script>"], review_on=None),
                SimpleNamespace(name="山田 <b>太郎</b>", kana="やまだ たろう"), SimpleNamespace(label="山田&家"),
                ["佐藤 花子", "—"]),
        CaseRow(SimpleNamespace(id=uuid.uuid4(), case_number="R8-0008", received_on=dt.date(2019, 5, 1),
                                status="unknown", fields=[], tags=[], review_on=dt.date(2027, 1, 31)),
                SimpleNamespace(name="高橋", kana="たかはし"), SimpleNamespace(label="高橋家"), []),
    ]
    page = create_environment().get_template("cases/list.html")
    context = page.new_context({"page": CasePage(rows, None), "errors": [], "status_labels": STATUS_LABELS,
                                "field_labels": FIELD_LABELS, "query": None})
    html = "".join(page.blocks["results"](context))
    assert f'<td><a href="/cases/{case_id}">R8-0007</a></td>' in html
    assert "<td>令和8年4月1日（2026-04-01）</td>" in html and "<td>令和元年5月1日（2019-05-01）</td>" in html
    assert "山田 &lt;b&gt;太郎&lt;/b&gt;<br><span class=\"muted\">やまだ たろう</span>" in html
    assert "<td>山田&amp;家</td>" in html and "<script>" not in html and '<span class="tag">&lt;script&gt;</span>' in html
    assert f'<span class="status status--supporting">{STATUS_LABELS["supporting"]}</span>' in html
    assert '<span class="status status--unknown">unknown</span>' in html  # a status without a label shows its code
    assert f"<td>{FIELD_LABELS['elderly']}・{FIELD_LABELS['poverty']}</td>" in html
    assert "<td>佐藤 花子、—</td>" in html
    assert "<td>—</td>\n      </tr>" in html and "<td>令和9年1月31日（2027-01-31）</td>\n      </tr>" in html
    assert html.count("<tr>") == 3 and "</tr>\n    </tbody>" in html  # the header row and the two cases
