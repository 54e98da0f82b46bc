"""Every state change of a break, through the service layer (tally.services.resolution)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tally.breaks.models import Action, Adjustment, Break
from tally.errors import BadState, InputRejected, NotAllowed
from tally.services import audit, resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def status(brk: Break) -> str:
    return Break.objects.get(pk=brk.pk).status


def later(days: int = 3) -> object:
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def people() -> tuple:
    return f.user("operator"), f.user("approver")


def test_open_to_pending_to_resolved_by_approval(people: tuple) -> None:
    maker, checker = people
    brk = f.brk()
    action = resolution.propose([brk.pk], "write_off", maker, reason_code="small_difference")
    assert (action.state, action.amount_minor, status(brk)) == ("proposed", 34, "pending_approval")
    resolution.approve(action.pk, checker)
    action.refresh_from_db()
    assert (action.state, action.checker, status(brk)) == ("applied", checker, "resolved")
    assert Break.objects.get(pk=brk.pk).resolution == "write_off"


def test_pending_back_to_open_by_rejection_with_reason(people: tuple) -> None:
    maker, checker = people
    brk = f.brk()
    action = resolution.propose([brk.pk], "adjust", maker, amount_minor=-34, reason="fee booked twice")
    with pytest.raises(InputRejected):
        resolution.reject(action.pk, checker, "")
    resolution.reject(action.pk, checker, "the fee was right")
    action.refresh_from_db()
    assert (action.state, action.rejection_reason, status(brk)) == ("rejected", "the fee was right", "open")
    assert not Adjustment.objects.exists()
    with pytest.raises(BadState):  # decided once
        resolution.approve(action.pk, checker)


def test_a_pending_break_takes_no_second_proposal(people: tuple) -> None:
    maker, _ = people
    brk = f.brk()
    resolution.propose([brk.pk], "write_off", maker, reason_code="small_difference")
    with pytest.raises(BadState):
        resolution.propose([brk.pk], "adjust", maker, amount_minor=1, reason="x")


def test_suspend_reopen_and_automatic_reopen_on_the_review_date(people: tuple) -> None:
    maker, _ = people
    brk = f.brk()
    with pytest.raises(InputRejected) as past:
        resolution.suspend(brk, maker, "waiting", timezone.localdate())
    assert past.value.code == "DATE_NOT_FUTURE"
    resolution.suspend(brk, maker, "waiting for the bank's answer", later(2))
    fresh = Break.objects.get(pk=brk.pk)
    assert (fresh.status, fresh.suspended_until) == ("suspended", later(2))
    resolution.reopen(brk, maker, "the bank answered")
    assert status(brk) == "open"
    resolution.suspend(brk, maker, "again", later(2))
    assert resolution.reopen_due(later(1)) == 0
    assert resolution.reopen_due(later(2)) == 1
    fresh = Break.objects.get(pk=brk.pk)
    assert (fresh.status, fresh.suspended_until) == ("open", None)
    events = [e.action for e in audit.history(brk)]
    assert events.count("reopen") == 2
    assert audit.history(brk)[-1].actor == "rule:review_date@1"


def test_reopen_only_from_suspended_and_suspend_only_from_open(people: tuple) -> None:
    maker, _ = people
    brk = f.brk()
    with pytest.raises(BadState):
        resolution.reopen(brk, maker)
    resolution.resolve(brk, None, rule="rounding", rule_version="3", reason="within 1 fen")
    with pytest.raises(BadState):
        resolution.suspend(brk, maker, "x", later())


def test_a_suspended_break_can_be_resolved(people: tuple) -> None:
    maker, checker = people
    brk = f.brk()
    resolution.suspend(brk, maker, "waiting", later())
    action = resolution.propose([brk.pk], "write_off", maker, reason_code="unrecoverable")
    resolution.approve(action.pk, checker)
    fresh = Break.objects.get(pk=brk.pk)
    assert (fresh.status, fresh.suspended_until) == ("resolved", None)


def test_automatic_rule_resolves_at_once_recorded_with_its_name_and_version() -> None:
    brk = f.brk()
    action = resolution.resolve(brk, None, rule="fees", rule_version="2", reason="fee = 0.6% of amount")
    assert (action.state, action.rule, action.rule_version, action.maker) == ("applied", "fees", "2", None)
    fresh = Break.objects.get(pk=brk.pk)
    assert (fresh.status, fresh.resolution) == ("resolved", "rule:fees")
    assert {e.actor for e in audit.history(brk)} == {"rule:fees@2"}
    with pytest.raises(NotAllowed) as exc:
        resolution.resolve(f.brk(), None, reason="no rule named")
    assert exc.value.code == "RULE_REQUIRED"


def test_a_person_resolving_is_a_proposal_under_the_resolve_policy(people: tuple) -> None:
    maker, _checker = people
    zero = f.brk(ours=500, theirs=500, reason="status_mismatch")
    assert resolution.resolve(zero, maker, reason="same amount, status explained").state == "applied"
    money = f.brk()
    action = resolution.resolve(money, maker, reason="explained by the shop")
    assert (action.state, status(money)) == ("proposed", "pending_approval")


def test_undo_of_an_applied_resolution_reopens_and_is_audited(people: tuple) -> None:
    maker, checker = people
    brk = f.brk(kind="long", theirs=700)
    supplement = resolution.propose([brk.pk], "supplement", maker)
    resolution.approve(supplement.pk, checker)
    entry = Adjustment.objects.get(action=supplement)
    undo = resolution.undo(supplement.pk, maker, "the order existed after all")
    assert (undo.kind, undo.state, undo.target_id) == ("undo", "applied", supplement.pk)
    supplement.refresh_from_db()
    entry.refresh_from_db()
    assert (supplement.state, entry.reversed_by_id, status(brk)) == ("undone", undo.pk, "open")
    assert Break.objects.get(pk=brk.pk).resolution == ""
    assert [e.action for e in audit.history(brk)] == [
        "propose", "await_approval", "approve", "apply", "supplement",  # the 补单, approved
        "propose", "undone", "apply", "undo"]  # its undo: proposed, the target marked, applied, the break reopened
    with pytest.raises(BadState):
        resolution.undo(supplement.pk, maker, "twice")
    with pytest.raises(BadState):
        resolution.undo(undo.pk, maker, "an undo is not undone; propose the action again")
    other = resolution.resolve(f.brk(), None, rule="fees", rule_version="1", reason="x")
    with pytest.raises(InputRejected):
        resolution.undo(other.pk, maker, " ")


def test_undo_refuses_when_the_break_moved_on(people: tuple) -> None:
    maker, _ = people
    brk = f.brk()
    suspension = resolution.suspend(brk, maker, "waiting", later())
    resolution.reopen(brk, maker)
    with pytest.raises(BadState) as exc:
        resolution.undo(suspension.pk, maker, "oops")
    assert exc.value.code == "CHANGED_SINCE"


def test_supplement_only_on_long_breaks_and_sync_status_only_on_mismatches(people: tuple) -> None:
    maker, _ = people
    with pytest.raises(BadState) as exc:
        resolution.propose([f.brk(kind="short").pk], "supplement", maker)
    assert exc.value.code == "NOT_LONG"
    with pytest.raises(BadState):
        resolution.propose([f.brk(kind="long").pk], "sync_status", maker)


def test_manual_match_n_to_1_when_sums_agree_else_explained(people: tuple) -> None:
    maker, checker = people
    plan = f.plan()
    ours = [f.brk(plan, "short", ours=300), f.brk(plan, "short", ours=200)]
    theirs = f.brk(plan, "long", theirs=500)
    match = resolution.propose([b.pk for b in [*ours, theirs]], "manual_match", maker)
    assert (match.state, match.amount_minor) == ("applied", 0)
    assert {status(b) for b in [*ours, theirs]} == {"resolved"}

    a, b = f.brk(plan, "short", ours=501), f.brk(plan, "long", theirs=500)
    with pytest.raises(InputRejected) as exc:
        resolution.propose([a.pk, b.pk], "manual_match", maker)
    assert exc.value.code == "MATCH_SUMS_DIFFER"
    explained = resolution.propose([a.pk, b.pk], "manual_match", maker, reason="1 fen rounding at the channel")
    assert (explained.state, explained.amount_minor) == ("proposed", 1)  # a difference is money: approval
    resolution.approve(explained.pk, checker)
    assert status(a) == "resolved"


def test_manual_match_refuses_n_to_m_mixed_plans_and_mismatch_breaks(people: tuple) -> None:
    maker, _ = people
    plan = f.plan()
    two_two = [f.brk(plan, "short", ours=1), f.brk(plan, "short", ours=1), f.brk(plan, "long", theirs=1),
               f.brk(plan, "long", theirs=1)]
    with pytest.raises(BadState):
        resolution.propose([b.pk for b in two_two], "manual_match", maker)
    with pytest.raises(BadState):
        resolution.propose([f.brk(plan).pk, f.brk(plan, "long").pk], "manual_match", maker)
    with pytest.raises(InputRejected) as exc:
        resolution.propose([f.brk(plan, "short").pk, f.brk(f.plan(), "long").pk], "manual_match", maker)
    assert exc.value.code == "PLANS_DIFFER"


def test_unmatch_reopens_every_break_of_the_match(people: tuple) -> None:
    maker, _ = people
    plan = f.plan()
    pair = [f.brk(plan, "short", ours=5), f.brk(plan, "long", theirs=5)]
    match = resolution.propose([b.pk for b in pair], "manual_match", maker)
    with pytest.raises(BadState):
        resolution.unmatch(resolution.resolve(f.brk(plan), None, rule="r", rule_version="1", reason="x").pk,
                           maker, "not a match")
    unmatched = resolution.unmatch(match.pk, maker, "wrong pair")
    assert unmatched.kind == "unmatch"
    assert {status(b) for b in pair} == {"open"}


def test_assign_comment_and_their_audit(people: tuple) -> None:
    maker, checker = people
    brk = f.brk()
    resolution.assign(brk, maker, checker.username)
    assert Break.objects.get(pk=brk.pk).assignee == checker
    resolution.assign(brk, maker, None)
    assert Break.objects.get(pk=brk.pk).assignee is None
    with pytest.raises(InputRejected):
        resolution.assign(brk, maker, f.user(None).username)  # cannot see breaks
    note = resolution.comment(brk, checker, "  looked at the bank statement  ")
    assert note.body == "looked at the bank statement"
    with pytest.raises(InputRejected):
        resolution.comment(brk, maker, "   ")
    assert [e.action for e in audit.history(brk)] == ["assign", "assign", "comment"]
    assert audit.history(brk)[0].after["assignee"] == checker.username


def test_bulk_reports_each_failure_and_applies_the_rest(people: tuple) -> None:
    maker, _ = people
    plan = f.plan()
    fine = [f.brk(plan) for _ in range(3)]
    done = f.brk(plan, status="resolved")
    result = resolution.bulk(Break.objects.filter(plan=plan), "suspend", maker, reason="month end", until=later())
    assert sorted(result.done) == sorted(b.pk for b in fine)
    assert [(pk, code) for pk, code, _ in result.failed] == [(done.pk, "BAD_STATE")]
    assert resolution.bulk([b.pk for b in fine], "comment", maker, body="all checked").done == [b.pk for b in fine]


def test_every_change_is_in_one_intact_chain(people: tuple) -> None:
    maker, checker = people
    brk = f.brk()
    a = resolution.propose([brk.pk], "write_off", maker, reason_code="fee_rounding")
    resolution.approve(a.pk, checker)
    resolution.undo(a.pk, maker, "wrong code")
    result = audit.verify()
    assert result.ok
    assert result.count == len(list(audit.history(brk)))


def test_unknown_kinds_and_details_are_refused(people: tuple) -> None:
    maker, _ = people
    brk = f.brk()
    with pytest.raises(InputRejected) as exc:
        resolution.propose([brk.pk], "delete", maker)
    assert exc.value.code == "UNKNOWN_ACTION_KIND"
    with pytest.raises(InputRejected) as exc:
        resolution.propose([brk.pk], "adjust", maker, amount=5)
    assert exc.value.code == "BAD_DETAILS"
    with pytest.raises(InputRejected) as exc:
        resolution.propose([brk.pk], "adjust", maker, amount_minor=1.5, reason="x")
    assert exc.value.code == "BAD_AMOUNT"
    assert not Action.objects.exists()


@pytest.mark.parametrize(("age", "bucket"), [(0, "0-1"), (1, "0-1"), (2, "2-7"), (7, "2-7"), (8, "8-30"),
                                             (30, "8-30"), (31, ">30"), (400, ">30")])
def test_age_buckets_at_their_edges(age: int, bucket: str) -> None:
    from tally.services.workflow import AGE_BUCKETS, aged

    today = timezone.localdate()
    brk = f.brk(day=today - timedelta(days=age))
    found = {label for label, _, _ in AGE_BUCKETS if aged(Break.objects.filter(pk=brk.pk), label, today).exists()}
    assert found == {bucket}


def test_age_buckets_are_the_reports_aging() -> None:
    from tally.services.reports import AGING
    from tally.services.workflow import AGE_BUCKETS

    assert AGE_BUCKETS == AGING
