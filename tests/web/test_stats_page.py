"""The statistics on /rules/ agree with themselves and read on a phone: a median never shown as
"0.0 小时", charts with a y-axis and the overall dispute rate drawn across the weekly bars, the
category table keeping its column names when it stacks at 375 px."""

from kameng.web import charts


def test_a_fast_resolution_reads_in_minutes_and_the_charts_have_axes(
    api, client, doc, buyer, merchant, make_listing, fund, buy, advance
):
    fund(buyer, 10000)
    order = buy(buyer, make_listing(merchant))
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]}
    case = api.post("/refunds", body, token=buyer.token).data
    advance(600)
    assert api.post(f"/refunds/{case['id']}/accept", token=merchant.token).status_code == 200

    page = doc(client.get("/rules/"))
    assert page.by_id("stat-median").text() == "10 分钟"
    for chart_id in ("chart-dispute", "chart-resolution", "chart-sla"):
        chart = page.by_id(chart_id)
        ticks = [n for n in chart.iter() if n.tag == "text" and "y-tick" in n.attrs.get("class", "")]
        assert len(ticks) == 3, chart_id
    dispute = page.by_id("chart-dispute")
    reference = [n for n in dispute.iter() if n.tag == "line" and n.attrs.get("class") == "reference"]
    assert len(reference) == 1 and "近 90 天整体 100%" in dispute.text()
    cells = [n for n in page.all("td") if n.attrs.get("data-label")]
    assert {"类目", "订单数", "售后案件数", "已结案"} <= {c.attrs["data-label"] for c in cells}


def test_chart_durations_never_read_zero_hours():
    assert charts.hours(600) == "10m" and charts.hours(0) == "0" and charts.hours(5400) == "1.5h"
