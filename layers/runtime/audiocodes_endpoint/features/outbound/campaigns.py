"""Campaigns: many targets dialled through VAIC's dial-out API, paced through SQS (issue 10).

Creating a campaign checks every target (phonenumbers, the endpoint's allow-list and do-not-call
list, a calling window that ever opens in its zones), stores it and sends one message per target,
spread ``1 / calls_per_second`` apart with ``DelaySeconds``. Each message, when due, is one attempt:

1. the campaign must be running; the target pending at the attempt the message names (else the
   message is a duplicate or stale and is dropped);
2. the target's calling window must be open in all its zones, else the message goes back to the queue
   for the window's next opening (in hops of at most 900 s) - no call outside the window, ever;
3. the pacing window's counter must have room (``calls_per_second``), else it waits for the next one;
4. a slot (``max_concurrent``) and the target's attempt are taken in one transaction, else it waits
   ``recheck_seconds`` (slots full) or is dropped (another delivery took the attempt);
5. the call is placed as a one-off call is (same records, statuses, EventBridge events).

The call's final status (VAIC's callback, or a refused dial-out) frees the slot and either finishes
the target with its outcome or, by the retry policy, sends it back with back-off.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.features.outbound import pacing, targets_csv
from audiocodes_endpoint.features.outbound.calls import CallExists, Outbound, OutboundRefused
from audiocodes_endpoint.features.outbound.campaign_settings import (
    COUNTERS,
    CallingWindow,
    CampaignRequest,
    CampaignTarget,
    Pacing,
    RetryPolicy,
)
from audiocodes_endpoint.features.outbound.destinations import DestinationRefused, checked_destination
from audiocodes_endpoint.features.outbound.windows import inside_all, next_opening, zones_for
from audiocodes_endpoint.observability import logger

if TYPE_CHECKING:  # the campaign records' and the queue's adapters (the wiring builds them)
    from audiocodes_endpoint.adapters.aws.campaign_store import CampaignQueue, CampaignStore

_NAMESPACE = uuid.UUID("5b0f4bd6-2f1e-4c55-9a51-0c1f5c7f2d10")  # call ids of campaign attempts (uuid5)
EARLY_TOLERANCE_SECONDS = 1.0
STALE_SECONDS = 60.0
"""A call still ``queued`` this long after it was recorded was left by an invocation that died (timeout 20 s)."""


class AttemptBusy(Exception):
    """Another invocation is placing this attempt's call; the message is tried again later."""


@dataclass(frozen=True)
class Settings:
    pacing: Pacing
    retry: RetryPolicy
    window: CallingWindow

    @classmethod
    def of(cls, campaign: Mapping[str, Any]) -> Settings:
        document = campaign["settings"]
        return cls(Pacing(**document["pacing"]), RetryPolicy(**document["retry"]), CallingWindow(**document["window"]))


@dataclass
class Campaigns:
    store: CampaignStore
    queue: CampaignQueue
    outbound: Outbound
    endpoints: Callable[[str], EndpointSettings | None]
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.outbound.finished = self.finish_call

    # --- the API --------------------------------------------------------------------------------

    def create(self, endpoint: EndpointSettings, request: CampaignRequest, callback_base: str) -> dict[str, Any]:
        dialout = self.outbound.dialout(endpoint)
        listed = self._listed(request)
        now = self.clock()
        targets: list[dict[str, Any]] = []
        invalid: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, entry in enumerate(listed):
            where = {"row": entry["row"]} if "row" in entry else {"index": index}
            try:
                target = CampaignTarget(target=entry["target"], metadata=entry["metadata"])
                number = checked_destination(target.target, dialout.destinations, endpoint.default_region)
            except ValidationError as error:
                invalid.append({**where, "problem": "; ".join(e["msg"] for e in error.errors())})
                continue
            except DestinationRefused as refused:
                if refused.code == "invalid_target":
                    invalid.append({**where, "problem": refused.message})
                    continue
                targets.append(_target(len(targets), entry, None, (), refused.code))
                continue
            zones = zones_for(number, request.window.fallback_timezone)
            reason = None
            if number in seen:
                reason = "duplicate"
            elif not zones:
                reason = "unknown_timezone"
            elif next_opening(request.window, zones, now) is None:
                reason = "window_never_open"
            seen.add(number)
            targets.append(_target(len(targets), {**entry, "metadata": target.metadata}, number, zones, reason))
        if invalid:
            raise OutboundRefused(400, "invalid_targets", f"{len(invalid)} target(s) are not valid phone numbers "
                                  "or have bad metadata; nothing was created", targets=invalid[:100])  # fmt: skip
        dialable = [t for t in targets if t["state"] == "pending"]
        campaign_id = str(uuid.uuid4())
        campaign = {
            "campaign_id": campaign_id, "endpoint": endpoint.url_token, "name": request.name, "state": "running",
            "settings": request.model_dump(mode="json", include={"pacing", "retry", "window"}),
            "callback_base": callback_base, "created_at": int(now),
            "expires_at": int(now) + dialout.history_days * 86400,
            **dict.fromkeys(COUNTERS, 0), "total": len(targets), "pending": len(dialable),
            "refused": len(targets) - len(dialable),
        }  # fmt: skip
        self.store.create(campaign, targets)
        due = pacing.schedule(len(dialable), request.pacing.calls_per_second, now)
        self.queue.send([(_message(endpoint.url_token, campaign_id, t["index"], 1, at), pacing.delay_seconds(at, now))
                         for t, at in zip(dialable, due, strict=True)])  # fmt: skip
        logger.info("campaign created", extra={"campaign": campaign_id, "targets": len(targets)})
        return view(campaign)

    def progress(self, endpoint: EndpointSettings, campaign_id: str) -> dict[str, Any]:
        return view(self._campaign(endpoint, campaign_id))

    def pause(self, endpoint: EndpointSettings, campaign_id: str) -> dict[str, Any]:
        return view(self._move(endpoint, campaign_id, "paused", ("running",)))

    def cancel(self, endpoint: EndpointSettings, campaign_id: str) -> dict[str, Any]:
        return view(self._move(endpoint, campaign_id, "cancelled", ("running", "paused")))

    def resume(self, endpoint: EndpointSettings, campaign_id: str) -> dict[str, Any]:
        """Running again; every pending target is sent again (messages that came while paused were dropped)."""
        campaign = self._move(endpoint, campaign_id, "running", ("paused",))
        settings = Settings.of(campaign)
        now = self.clock()
        waiting = [t for t in self.store.targets(endpoint.url_token, campaign_id, campaign["total"])
                   if t["state"] == "pending"]  # fmt: skip
        due = pacing.schedule(len(waiting), settings.pacing.calls_per_second, now)
        self.queue.send([
            (_message(endpoint.url_token, campaign_id, t["index"], t["attempts"] + 1, max(at, t.get("next_at", 0))),
             pacing.delay_seconds(max(at, t.get("next_at", 0)), now))
            for t, at in zip(waiting, due, strict=True)
        ])  # fmt: skip
        return view(campaign)

    def results(self, endpoint: EndpointSettings, campaign_id: str) -> str:
        campaign = self._campaign(endpoint, campaign_id)
        rows = []
        for target in self.store.targets(endpoint.url_token, campaign_id, campaign["total"]):
            outcomes = target.get("outcomes") or []
            state = target["state"]
            outcome = target.get("outcome") if state == "done" else state
            if state == "pending" and campaign["state"] == "cancelled":
                outcome = "cancelled"
            rows.append({
                "number": target.get("number") or target.get("listed", ""), "metadata": target.get("metadata"),
                "attempts": target.get("attempts", 0), "outcome": outcome,
                "reason": target.get("reason", ""), "duration_seconds": target.get("duration", ""),
                "total_duration_seconds": target.get("total_duration", 0),
                "attempt_outcomes": ";".join(str(o.get("outcome")) for o in outcomes),
                "last_call_id": target.get("call_id", ""),
            })  # fmt: skip
        return targets_csv.results(rows)

    # --- the pacing queue -------------------------------------------------------------------------

    def dial(self, message: Mapping[str, Any]) -> str:
        """One attempt from the pacing queue; what happened (for the log and the tests)."""
        url_token, campaign_id = str(message["endpoint"]), str(message["campaign"])
        index, attempt, due = int(message["index"]), int(message["attempt"]), float(message["due"])
        now = self.clock()
        if due > now + EARLY_TOLERANCE_SECONDS:
            self._send(message, due, now)
            return "early"
        campaign, target = self.store.get_with_target(url_token, campaign_id, index)
        if campaign is None or target is None or campaign["state"] != "running":
            return "not_running"  # paused: resume sends it again; cancelled or expired: never
        if target["state"] == "dialling" and target.get("attempts") == attempt:
            return self._recover(url_token, campaign, target, attempt)
        if target["state"] != "pending" or target.get("attempts", 0) != attempt - 1:
            return "duplicate"
        if target.get("next_at", 0) > now + EARLY_TOLERANCE_SECONDS:
            self._send(message, float(target["next_at"]), now)  # resumed before its back-off ended
            return "early"
        endpoint = self.endpoints(url_token)
        if endpoint is None or endpoint.dialout is None:
            logger.warning("campaign endpoint has no dialout settings now", extra={"campaign": campaign_id})
            return "no_endpoint"
        return self._attempt(message, endpoint, campaign, target, now)

    def _attempt(self, message: Mapping[str, Any], endpoint: EndpointSettings, campaign: Mapping[str, Any],
                 target: Mapping[str, Any], now: float) -> str:  # fmt: skip
        """The window, the pace and a slot, then the call."""
        campaign_id, index, attempt = str(campaign["campaign_id"]), int(target["index"]), int(message["attempt"])
        settings = Settings.of(campaign)
        if not inside_all(settings.window, target["zones"], now):
            opening = next_opening(settings.window, target["zones"], now)
            self.store.defer(endpoint.url_token, campaign_id, index, attempt)
            self._send(message, opening if opening is not None else now + pacing.MAX_DELAY_SECONDS, now)
            return "deferred"
        bucket, capacity, width = pacing.rate_bucket(now, settings.pacing.calls_per_second)
        if not self.store.take_rate(endpoint.url_token, campaign_id, bucket, capacity):
            self._send(message, bucket + width, now)
            return "paced"
        call_id = str(uuid.uuid5(_NAMESPACE, f"{endpoint.url_token}/{campaign_id}/{index}/{attempt}"))
        claimed = self.store.claim(
            endpoint.url_token, campaign_id, index, attempt, call_id,
            max_concurrent=settings.pacing.max_concurrent, deferred=bool(target.get("deferred")),
        )  # fmt: skip
        if claimed == "target":
            return "duplicate"
        if claimed == "campaign":
            fresh = self.store.get(endpoint.url_token, campaign_id)
            if fresh is None or fresh["state"] != "running":
                return "not_running"
            self._send(message, now + settings.pacing.recheck_seconds, now)
            return "slots_full"
        return self._place(endpoint, campaign, target, attempt, call_id)

    def _place(self, endpoint: EndpointSettings, campaign: Mapping[str, Any], target: Mapping[str, Any],
               attempt: int, call_id: str) -> str:  # fmt: skip
        link = {"campaign_id": campaign["campaign_id"], "target_index": target["index"], "attempt": attempt}
        try:
            self.outbound.place_call(
                endpoint, target["number"], target.get("metadata") or {}, campaign["callback_base"],
                call_id=call_id, campaign=link,
            )  # fmt: skip
        except CallExists:
            return "in_progress"  # another delivery of this attempt recorded the call first: it dials
        except DestinationRefused as refused:  # the endpoint's lists changed since the campaign was made
            self._finish(endpoint.url_token, campaign, target["index"], call_id, attempt,
                         {"status": "failed", "reason": refused.code}, outcome="refused")  # fmt: skip
            return "refused"
        except OutboundRefused as refused:  # VAIC refused the dial-out: the call's history says failed
            self._finish(endpoint.url_token, campaign, target["index"], call_id, attempt,
                         {"status": "failed", "reason": refused.message}, outcome="failed")  # fmt: skip
            return "dialout_failed"
        return "placed"

    def _recover(self, url_token: str, campaign: Mapping[str, Any], target: Mapping[str, Any], attempt: int) -> str:
        """A delivery after an invocation died between taking the attempt and placing its call."""
        call_id = str(target.get("call_id"))
        call = self.outbound.store.get(url_token, call_id)
        endpoint = self.endpoints(url_token)
        if call is None and endpoint is not None and endpoint.dialout is not None:
            return self._place(endpoint, campaign, target, attempt, call_id)  # never reached VAIC: place it now
        if call is not None and call["status"] == "queued":
            if self.outbound.clock() - _queued_at(call) < STALE_SECONDS:  # the clock that wrote `at`
                # Another invocation may be asking VAIC right now: look again after the visibility timeout.
                raise AttemptBusy(f"call {call_id} is being placed")
            # VAIC may or may not have the call: never dial twice, count the attempt as failed.
            entry = {"status": "failed", "reason": "interrupted before VAIC answered"}
            self.outbound.record(url_token, call_id, entry)
            self._finish(url_token, campaign, target["index"], call_id, attempt, entry, outcome="failed")
            return "interrupted"
        return "in_progress"

    # --- a call's end -----------------------------------------------------------------------------

    def finish_call(self, endpoint: EndpointSettings, call: Mapping[str, Any], final: Mapping[str, Any]) -> None:
        """Called by :class:`Outbound` when a campaign call's first final status arrives."""
        campaign = self.store.get(endpoint.url_token, str(call["campaign_id"]))
        if campaign is None:
            return
        outcome = str(pacing.outcome_of([*call.get("history", []), final]))
        self._finish(endpoint.url_token, campaign, int(call["target_index"]), str(call["call_id"]),
                     int(call["attempt"]), final, outcome=outcome)  # fmt: skip

    def _finish(self, url_token: str, campaign: Mapping[str, Any], index: int, call_id: str, attempt: int,
                final: Mapping[str, Any], *, outcome: str) -> None:  # fmt: skip
        settings = Settings.of(campaign)
        now = self.clock()
        retry_at = None
        if campaign["state"] != "cancelled" and pacing.retries(settings.retry, outcome, attempt):
            retry_at = now + pacing.backoff(settings.retry, attempt)
            # Sent before the transaction: if this invocation dies after it, the retry still happens; a
            # duplicate finish sends a second message, which the attempt check drops.
            message = _message(url_token, str(campaign["campaign_id"]), index, attempt + 1, retry_at)
            self.queue.send([(message, pacing.delay_seconds(retry_at, now))])
        record = {"call_id": call_id, "attempt": attempt, "outcome": outcome, "reason": final.get("reason"),
                  "duration": final.get("duration"), "at": int(now)}  # fmt: skip
        self.store.finish(url_token, str(campaign["campaign_id"]), index, call_id, record,
                          outcome=outcome, retry_at=retry_at)  # fmt: skip

    # --- helpers --------------------------------------------------------------------------------

    def _listed(self, request: CampaignRequest) -> list[dict[str, Any]]:
        if request.targets is not None:
            return [{"target": t.target, "metadata": t.metadata} for t in request.targets]
        try:
            return targets_csv.parse(request.targets_csv or "")
        except targets_csv.CsvRefused as refused:
            raise OutboundRefused(400, "invalid_csv", str(refused)) from None

    def _campaign(self, endpoint: EndpointSettings, campaign_id: str) -> dict[str, Any]:
        self.outbound.dialout(endpoint)
        campaign = self.store.get(endpoint.url_token, campaign_id) if _valid_id(campaign_id) else None
        if campaign is None:
            raise OutboundRefused(404, "campaign_not_found", "no campaign with this id on this endpoint")
        return campaign

    def _move(
        self, endpoint: EndpointSettings, campaign_id: str, state: str, allowed: tuple[str, ...]
    ) -> dict[str, Any]:
        current = self._campaign(endpoint, campaign_id)
        moved = self.store.set_state(endpoint.url_token, campaign_id, state, allowed)
        if moved is None:
            raise OutboundRefused(409, "campaign_state", f"a {view(current)['state']} campaign cannot be {state}",
                                  state=view(current)["state"])  # fmt: skip
        return moved

    def _send(self, message: Mapping[str, Any], due: float, now: float) -> None:
        self.queue.send([({**message, "due": due}, pacing.delay_seconds(due, now))])


def view(campaign: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign as the API shows it: state and progress counters."""
    counts = {name: int(campaign.get(name, 0)) for name in COUNTERS}
    state = str(campaign["state"])
    if state == "running" and counts["pending"] == 0 and counts["active"] == 0:
        state = "completed"
    cancelled = counts["pending"] if state == "cancelled" else 0
    return {
        "id": campaign["campaign_id"], "name": campaign["name"], "state": state, "createdAt": campaign["created_at"],
        "progress": {
            "total": counts["total"], "pending": counts["pending"] - cancelled, "dialling": counts["active"],
            "completed": counts["completed"], "answered": counts["answered"], "machine": counts["machine"],
            "busy": counts["busy"], "noAnswer": counts["no_answer"], "failed": counts["failed"],
            "deferred": counts["deferred"], "refused": counts["refused"], "cancelled": cancelled,
            "attempts": counts["attempts"], "retries": counts["retries"],
        },
        "settings": campaign["settings"],
    }  # fmt: skip


def _target(index: int, entry: Mapping[str, Any], number: str | None, zones: tuple[str, ...],
            refused: str | None) -> dict[str, Any]:  # fmt: skip
    target: dict[str, Any] = {"index": index, "metadata": entry.get("metadata") or {}, "zones": list(zones),
                              "attempts": 0, "state": "refused" if refused else "pending"}  # fmt: skip
    target["number"] = number if number is not None else str(entry["target"])
    if refused:
        target |= {"outcome": "refused", "reason": refused}
    return target


def _message(url_token: str, campaign_id: str, index: int, attempt: int, due: float) -> dict[str, Any]:
    return {"endpoint": url_token, "campaign": campaign_id, "index": index, "attempt": attempt, "due": round(due, 3)}


def _queued_at(call: Mapping[str, Any]) -> float:
    history = call.get("history") or [{}]
    return float(history[0].get("at", 0))


def _valid_id(campaign_id: str) -> bool:
    try:
        return str(uuid.UUID(campaign_id)) == campaign_id
    except ValueError:
        return False
