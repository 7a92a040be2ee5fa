"""Campaign rules without AWS: calling windows per target, pacing, back-off, retries, outcomes, CSV in and out."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from pydantic import ValidationError

from audiocodes_endpoint.features.outbound import pacing, targets_csv
from audiocodes_endpoint.features.outbound.campaign_settings import (
    CallingWindow,
    CampaignRequest,
    RetryPolicy,
    from_query,
)
from audiocodes_endpoint.features.outbound.windows import inside_all, next_opening, zones_for


def utc(*args: int) -> float:
    return datetime.datetime(*args, tzinfo=datetime.UTC).timestamp()


WORKDAY = CallingWindow(start="09:00", end="20:00", days=["mon", "tue", "wed", "thu", "fri"])
# Wednesday 2 December 2026
NOON = utc(2026, 12, 2, 12, 0)


# --- calling windows ----------------------------------------------------------------------------------


def test_a_number_s_zones_come_from_phonenumbers_time_zone_data():
    assert zones_for("+493012345678") == ("Europe/Berlin",)
    assert zones_for("+12127365000") == ("America/New_York",)
    assert len(zones_for("+79161234567")) > 10  # a Russian mobile range spans the country


def test_a_number_phonenumbers_cannot_place_gets_the_fallback_zone_or_none():
    # +882 (international networks) has no geography
    assert zones_for("+88234567890") == ()
    assert zones_for("+88234567890", "Europe/Berlin") == ("Europe/Berlin",)


def test_the_window_is_read_in_the_target_s_local_time():
    berlin, new_york = zones_for("+493012345678"), zones_for("+12127365000")
    assert inside_all(WORKDAY, berlin, NOON)  # 13:00 in Berlin
    assert not inside_all(WORKDAY, new_york, NOON)  # 07:00 in New York
    assert next_opening(WORKDAY, new_york, NOON) == utc(2026, 12, 2, 14, 0)  # 09:00 EST
    assert next_opening(WORKDAY, berlin, NOON) == NOON


def test_the_end_is_exclusive_and_days_are_local_days():
    berlin = ("Europe/Berlin",)
    assert not inside_all(WORKDAY, berlin, utc(2026, 12, 2, 19, 0))  # 20:00 in Berlin
    assert inside_all(WORKDAY, berlin, utc(2026, 12, 2, 18, 59, 59))
    # Friday 19:30 UTC is Saturday 06:30 in Sydney: the next opening is Monday 09:00 there
    sydney = ("Australia/Sydney",)
    friday = utc(2026, 12, 4, 19, 30)
    assert not inside_all(WORKDAY, sydney, friday)
    opening = next_opening(WORKDAY, sydney, friday)
    assert opening is not None
    local = datetime.datetime.fromtimestamp(opening, datetime.timezone(datetime.timedelta(hours=11)))
    assert (local.strftime("%a %H:%M"), local.date()) == ("Mon 09:00", datetime.date(2026, 12, 7))


def test_a_number_in_several_zones_is_called_only_when_all_of_them_are_inside_the_window():
    russia = zones_for("+79161234567")  # UTC+2 (Kaliningrad) to UTC+12 (Kamchatka)
    window = CallingWindow(start="09:00", end="20:00")
    # 12:00 UTC: 14:00 in Kaliningrad but 00:00 in Kamchatka
    assert not inside_all(window, russia, NOON)
    opening = next_opening(window, russia, NOON)
    # 07:00 UTC: 09:00 in Kaliningrad, 19:00 in Kamchatka - the only hour inside everywhere
    assert opening == utc(2026, 12, 3, 7, 0)
    assert inside_all(window, russia, opening) and not inside_all(window, russia, opening + 3600)


def test_zones_whose_windows_never_overlap_never_open():
    assert next_opening(CallingWindow(start="09:00", end="10:00"), zones_for("+79161234567"), NOON) is None
    assert next_opening(WORKDAY, (), NOON) is None


def test_a_window_over_a_daylight_saving_change_opens_at_local_time():
    # Sunday 29 March 2026 Berlin moves to CEST: Monday 09:00 is 07:00 UTC
    assert next_opening(WORKDAY, ("Europe/Berlin",), utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)


@pytest.mark.parametrize(
    "window",
    [
        {"start": "20:00", "end": "09:00"},
        {"start": "09:00", "end": "09:00"},
        {"start": "9:00", "end": "10:00"},
        {"start": "09:00", "end": "25:00"},
        {"days": []},
        {"days": ["someday"]},
        {"fallback_timezone": "Mars/Olympus"},
        {"fallback_timezone": "../../etc/passwd"},
    ],
)
def test_bad_windows_are_refused(window):
    with pytest.raises(ValidationError):
        CallingWindow(**window)


# --- pacing -------------------------------------------------------------------------------------------


def test_targets_are_spread_by_calls_per_second():
    assert pacing.schedule(4, 2, 100.0) == [100.0, 100.5, 101.0, 101.5]
    assert pacing.schedule(3, 0.1, 0.0) == [0.0, 10.0, 20.0]


def test_sqs_delays_are_rounded_up_and_capped_at_900_seconds():
    assert pacing.delay_seconds(100.2, 100.0) == 1
    assert pacing.delay_seconds(99.0, 100.0) == 0
    assert pacing.delay_seconds(100.0 + 3600, 100.0) == 900  # the message hops
    assert pacing.delay_seconds(100.0 + 900, 100.0) == 900


@pytest.mark.parametrize(
    ("rate", "now", "expected"),
    [
        (5, 1000.7, (1000, 5, 1)),  # five calls in each one-second window
        (0.2, 1003.0, (1000, 1, 5)),  # one call in each five-second window
        (1.5, 1001.0, (1000, 3, 2)),  # three in two seconds
        (50, 7.9, (7, 50, 1)),
    ],
)
def test_the_rate_counter_s_window_holds_calls_per_second_for_any_rate(rate, now, expected):
    assert pacing.rate_bucket(now, rate) == expected


def test_back_off_grows_by_the_multiplier_up_to_its_maximum():
    policy = RetryPolicy(backoff_seconds=60, backoff_multiplier=2, max_backoff_seconds=200)
    assert [pacing.backoff(policy, made) for made in (1, 2, 3, 4)] == [60, 120, 200, 200]


def test_only_the_policy_s_outcomes_are_retried_and_only_up_to_max_attempts():
    policy = RetryPolicy(on=["busy", "failed"], max_attempts=3)
    assert pacing.retries(policy, "busy", 1) and pacing.retries(policy, "failed", 2)
    assert not pacing.retries(policy, "busy", 3)
    assert not pacing.retries(policy, "no_answer", 1)
    assert not pacing.retries(policy, "answered", 1) and not pacing.retries(policy, "machine", 1)


@pytest.mark.parametrize(
    ("history", "outcome"),
    [
        ([{"status": "answered"}, {"status": "completed", "duration": 3}], "answered"),
        ([{"status": "answered"}, {"status": "machine-detected"}, {"status": "completed"}], "machine"),
        ([{"status": "completed", "machineDetection": "machine"}], "machine"),
        ([{"status": "failed", "reason": "busy", "reasonCode": "486"}], "busy"),
        ([{"status": "failed", "reasonCode": "600"}], "busy"),
        ([{"status": "failed", "reason": "no answer", "reasonCode": "408"}], "no_answer"),
        ([{"status": "failed", "reason": "no-answer"}], "no_answer"),
        ([{"status": "failed", "reasonCode": "480"}], "no_answer"),
        ([{"status": "failed", "reason": "token answered HTTP 401"}], "failed"),
        ([{"status": "failed", "reasonCode": "503"}], "failed"),
    ],
)
def test_a_call_s_outcome_is_read_from_its_status_history(history, outcome):
    assert pacing.outcome_of(history) == outcome


# --- the request --------------------------------------------------------------------------------------


def test_a_campaign_needs_exactly_one_target_list():
    with pytest.raises(ValidationError):
        CampaignRequest(name="x")
    with pytest.raises(ValidationError):
        CampaignRequest.model_validate({"name": "x", "targets": [{"target": "+4930123"}], "targets_csv": "number\n"})


def test_target_metadata_is_bounded():
    with pytest.raises(ValidationError):
        CampaignRequest.model_validate(
            {"name": "x", "targets": [{"target": "+4930123", "metadata": {"a": "b" * 3000}}]}
        )


def test_query_settings_of_a_csv_upload_map_onto_the_same_model():
    document = from_query({"name": "n", "calls_per_second": "2", "retry_on": "busy,failed", "window": "08:00-18:00",
                           "days": "mon,fri", "fallback_timezone": "Europe/Berlin"})  # fmt: skip
    request = CampaignRequest.model_validate({**document, "targets_csv": "number\n+4930123\n"})
    assert request.pacing.calls_per_second == 2 and request.retry.on == ["busy", "failed"]
    assert (request.window.start, request.window.end, request.window.days) == ("08:00", "18:00", ["mon", "fri"])
    with pytest.raises(ValidationError):  # a misspelt parameter is an error, not a silent default
        CampaignRequest.model_validate({**from_query({"name": "n", "calls_per_secnd": "2"}), "targets_csv": "x"})


# --- CSV ----------------------------------------------------------------------------------------------


def test_csv_targets_take_the_number_column_and_the_rest_as_metadata():
    text = '\ufeffName,Phone,Amount\r\n"Doe, Jane",+4930123,"12,50"\r\n\r\nRoe,030 456\n'
    assert targets_csv.parse(text) == [
        {"target": "+4930123", "metadata": {"Name": "Doe, Jane", "Amount": "12,50"}, "row": 2},
        {"target": "030 456", "metadata": {"Name": "Roe", "Amount": ""}, "row": 4},
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("number\n+4930\x00123\n", "NUL"),
        ('number,x\n+4930123,"unclosed\n', "line"),
        ("name\nx\n", "number column"),
        ("number,Number\n1,2\n", "unique"),
        ("number,\n1,2\n", "name"),
        ("number\n1,2\n", "fields"),
        ("", "empty"),
        ("number\n\n\n", "no targets"),
        ("number," + ",".join(f"c{i}" for i in range(60)) + "\n1\n", "more than 50"),
        ("number\n" + "9" * 1001 + "\n", "characters"),
        ("number\n" + "+4930123\n" * 2001, "at most"),
    ],
)
def test_hostile_csv_is_refused_with_a_reason(text, problem):
    with pytest.raises(targets_csv.CsvRefused, match=problem):
        targets_csv.parse(text)


def test_results_csv_has_one_row_per_target_and_defuses_formulas():
    rows = [
        {"number": "+4930123", "metadata": {"customer": "=cmd|' /C calc'!A0", "note": "@SUM(1)"}, "attempts": 2,
         "outcome": "answered", "duration_seconds": 12.0, "total_duration_seconds": 12.0,
         "attempt_outcomes": "busy;answered"},
        {"number": "+4930456", "metadata": {"other": "-1+1", "nested": {"a": [1]}}, "attempts": 0, "outcome": "refused",
         "reason": "do_not_call"},
    ]  # fmt: skip
    parsed = list(csv.DictReader(io.StringIO(targets_csv.results(rows))))
    assert [row["number"] for row in parsed] == ["+4930123", "+4930456"]
    assert parsed[0]["customer"] == "'=cmd|' /C calc'!A0" and parsed[0]["note"] == "'@SUM(1)"
    assert parsed[1]["other"] == "'-1+1" and parsed[1]["nested"] == '{"a":[1]}'
    assert (parsed[0]["duration_seconds"], parsed[0]["attempt_outcomes"]) == ("12", "busy;answered")
    assert parsed[1]["customer"] == "" and parsed[1]["reason"] == "do_not_call"


# --- the allow-list and the do-not-call list, per target ----------------------------------------------


class ListStore:
    """Keeps what Campaigns.create writes (the real store is tested on moto)."""

    def __init__(self) -> None:
        self.created: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []

    def create(self, campaign: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        self.created.append((campaign, list(targets)))


class ListQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], int]] = []

    def send(self, messages: list[tuple[dict[str, Any], int]]) -> None:
        self.sent += messages


def test_each_target_is_checked_against_the_allow_list_the_do_not_call_list_and_its_window():
    from audiocodes_endpoint.config.endpoint import EndpointSettings
    from audiocodes_endpoint.features.outbound.calls import Outbound
    from audiocodes_endpoint.features.outbound.campaigns import Campaigns

    endpoint = EndpointSettings.model_validate({
        "name": "t", "url_token": "t", "flow": "main", "bot_token": "env:T", "default_region": "DE",
        "dialout": {"api_key": "env:K", "api_url": "https://vaic.example", "token_url": "https://vaic.example/t",
                    "client_id": "env:I", "client_secret": "env:S", "bot": "b", "caller": "+4930123",
                    "destinations": {"country_codes": [49, 7], "patterns": [r"^\+1212\d{7}$"],
                                     "do_not_call": ["+4930111111111"]}},
    })  # fmt: skip
    store, queue = ListStore(), ListQueue()
    campaigns = Campaigns(store, queue, Outbound(store=None, events=None), lambda _: endpoint, clock=lambda: NOON)  # type: ignore[arg-type]
    request = CampaignRequest.model_validate({"name": "x", "window": {"start": "09:00", "end": "10:00"}, "targets": [
        {"target": "030 12345678"}, {"target": "+4930111111111"}, {"target": "+33123456789"},
        {"target": "+12127365000"}, {"target": "+12025550123"}, {"target": "+79161234567"},
        {"target": "+49 30 12345678"},
    ]})  # fmt: skip
    view = campaigns.create(endpoint, request, "https://api.example")
    ((_, targets),) = store.created
    assert [(t["number"], t["state"], t.get("reason")) for t in targets] == [
        ("+493012345678", "pending", None),
        ("+4930111111111", "refused", "do_not_call"),
        ("+33123456789", "refused", "destination_not_allowed"),
        ("+12127365000", "pending", None),  # New York, by pattern
        ("+12025550123", "refused", "destination_not_allowed"),  # Washington: the pattern does not cover it
        ("+79161234567", "refused", "window_never_open"),  # in the allow-list, but no hour fits all its zones
        ("+493012345678", "refused", "duplicate"),
    ]
    assert [body["index"] for body, _ in queue.sent] == [0, 3]
    assert view["progress"]["refused"] == 5 and view["progress"]["pending"] == 2
