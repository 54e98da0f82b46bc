"""The break workflow: propose actions, resolve, suspend, reopen, assign, undo; bulk variants.

States (DESIGN.md): ``open`` → ``resolved`` / ``suspended`` ↔ ``open``; an action that needs a
second person (``tally.services.policy``) puts its breaks in ``pending_approval`` until it is
approved (then applied) or rejected (then the breaks go back to what they were). Every change
writes an audit event in the same transaction. Web, API, CLI and worker call these functions;
they check the caller's role and plans themselves (``tally.services.access``), so no entry
point can skip a check.

``by`` is the acting user; ``None`` only for automatic rules (``resolve(..., rule=...)``) and the
review-date reopening (``reopen_due``), which are recorded as ``rule:NAME@VERSION``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tally.breaks.models import Action, Break, Comment
from tally.errors import BadState, InputRejected, NotAllowed, NotFound, TallyError
from tally.services import access, audit, merchant, policy
from tally.services.access import User
from tally.services.kinds import KINDS, UNDOABLE, Details, need_reason

K = Action.Kind
S = Break.Status
MAX_BULK = 5000
# Age buckets (label, first day, last day or None), in days from the break's business day; the
# same as the reports' (tally.services.reports.AGING), which a test keeps equal.
AGE_BUCKETS = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), (">30", 31, None))


def aged(query: QuerySet[Break], label: str, today: date | None = None) -> QuerySet[Break]:
    """``query`` narrowed to the breaks whose age is in the bucket ``label``."""
    today = today or timezone.localdate()
    for name, first, last in AGE_BUCKETS:
        if name == label:
            query = query.filter(day__lte=today - timedelta(days=first))
            return query.filter(day__gte=today - timedelta(days=last)) if last is not None else query
    raise InputRejected("BAD_AGE", f"{label!r} is not an age bucket", field="age",
                        hint=f"one of {', '.join(b[0] for b in AGE_BUCKETS)}")


def break_state(brk: Break) -> dict[str, Any]:
    """What the audit log keeps of a break before and after a change."""
    return {"status": brk.status, "assignee": brk.assignee.get_username() if brk.assignee else None,
            "suspended_until": brk.suspended_until, "resolution": brk.resolution}


def action_state(action: Action) -> dict[str, Any]:
    return {"kind": action.kind, "state": action.state, "breaks": sorted(int(p) for p in action.prior),
            "amount_minor": action.amount_minor, "currency": action.currency, "reason": action.reason,
            "reason_code": action.reason_code, "payload": action.payload, "result": action.result,
            "rule": action.rule, "rule_version": action.rule_version, "target": action.target_id,
            "maker": action.maker.get_username() if action.maker else None,
            "checker": action.checker.get_username() if action.checker else None,
            "rejection_reason": action.rejection_reason}


def change_break(brk: Break, by: User | None, action: Action | None, what: str, **changes: Any) -> None:
    before = break_state(brk)
    for name, value in changes.items():
        setattr(brk, name, value)
    brk.save(update_fields=[*changes, "updated_at"])
    after = {**break_state(brk), **({"action": action.pk} if action else {})}
    audit.record(by, brk, what, before, after, rule=action.rule if action else "",
                 rule_version=action.rule_version if action else "")


def _locked(by: User, ids: Iterable[Any]) -> list[Break]:
    ids = list(dict.fromkeys(int(i) for i in ids))
    if not ids:
        raise InputRejected("NO_BREAKS", "name at least one break")
    found = {b.pk: b for b in access.breaks(by, Break.objects.select_for_update().select_related("plan"))
             .filter(pk__in=ids)}
    for pk in ids:
        if pk not in found:
            raise NotFound("UNKNOWN_BREAK", f"there is no break {pk} you may see")
    breaks = [found[pk] for pk in ids]
    if len({b.plan_id for b in breaks}) > 1:
        raise InputRejected("PLANS_DIFFER", "one action acts on breaks of one plan")
    return breaks


@transaction.atomic
def propose(break_ids: Iterable[Any], kind: str, by: User, **details: Any) -> Action:
    """Propose ``kind`` on the breaks; applied at once unless its policy wants a second person.

    details: ``reason``, ``reason_code`` (核销), ``amount_minor`` (调账), ``until`` (挂起),
    ``status`` (sync_status; default the channel's), ``notify`` (补单: call the merchant webhook).
    """
    if kind not in KINDS:
        raise InputRejected("UNKNOWN_ACTION_KIND", f"{kind!r} is not an action kind", field="kind",
                            hint=f"one of {', '.join(KINDS)}")
    if kind in (K.UNDO, K.UNMATCH):
        raise InputRejected("USE_UNDO", f"{kind} names the action it reverses: use undo()/unmatch()")
    access.require(by, access.ACT)
    breaks = _locked(by, break_ids)
    spec = KINDS[kind]
    if spec.single and len(breaks) != 1:
        raise InputRejected("ONE_BREAK", f"{kind} acts on one break at a time (use the bulk action for many)")
    for brk in breaks:
        if brk.status not in spec.allowed_from:
            raise BadState("BAD_STATE", f"break {brk.pk} is {brk.status}; {kind} needs "
                           f"{' or '.join(sorted(spec.allowed_from))}")
    d = Details.of(details)
    prepared = spec.prepare(breaks[0].plan, breaks, d)
    action = Action.objects.create(
        kind=kind, plan=breaks[0].plan, amount_minor=prepared.amount_minor, currency=prepared.currency,
        reason=d.reason, reason_code=d.reason_code, payload=prepared.payload, maker=by,
        prior={str(b.pk): b.status for b in breaks})
    action.breaks.set(breaks)
    return _submit(action, breaks, by)


def _submit(action: Action, breaks: list[Break], by: User) -> Action:
    audit.record(by, action, "propose", None, action_state(action))
    if policy.needs_approval(action.kind, action.amount_minor):
        for brk in breaks:
            change_break(brk, by, action, "await_approval", status=S.PENDING_APPROVAL)
        # Tell the approvers once the proposal is committed (deferred import: break_alerts reads workflow).
        from tally.services.break_alerts import approval_waiting

        transaction.on_commit(lambda: approval_waiting(action.pk), robust=True)
        return action
    return apply_action(action, breaks, by)


def apply_action(action: Action, breaks: list[Break], by: User | None) -> Action:
    """Make an allowed action take effect (inside the caller's transaction)."""
    before = action_state(action)
    changes = KINDS[action.kind].apply(action, breaks)
    if action.kind in (K.UNDO, K.UNMATCH) and action.target is not None:
        _reverse(action, action.target)
    action.state = Action.State.APPLIED
    action.applied_at = timezone.now()
    action.save()
    audit.record(by, action, "apply", before, action_state(action), rule=action.rule, rule_version=action.rule_version)
    for brk in breaks:
        change_break(brk, by, action, action.kind, **changes)
    return action


def _reverse(undo: Action, target: Action) -> None:
    before = action_state(target)
    target.adjustments.filter(reversed_by__isnull=True).update(reversed_by=undo)
    if "webhook" in (target.result or {}):
        undo.result = {"webhook": merchant.send(target.plan, "undo", {"action": undo.pk, "undoes": target.pk,
                                                                       "kind": target.kind})}
    target.state = Action.State.UNDONE
    target.save(update_fields=["state"])
    audit.record(undo.maker, target, "undone", before, {**action_state(target), "undone_by": undo.pk})


def resolve(brk: Break | int, by: User | None, *, rule: str | None = None, rule_version: str | None = None,
            reason: str) -> Action:
    """Resolve one break. Automatic rules pass ``by=None`` with their name and version: applied at
    once and recorded as the rule. A person's resolution is a proposal (``resolve`` policy)."""
    if by is not None:
        return propose([brk.pk if isinstance(brk, Break) else brk], K.RESOLVE, by, reason=reason)
    if not rule or not rule_version:
        raise NotAllowed("RULE_REQUIRED", "an automatic resolution names its rule and version")
    with transaction.atomic():
        locked = Break.objects.select_for_update().select_related("plan").get(
            pk=brk.pk if isinstance(brk, Break) else brk)
        if locked.status not in (S.OPEN, S.SUSPENDED):
            raise BadState("BAD_STATE", f"break {locked.pk} is {locked.status}; a rule resolves open breaks")
        action = Action.objects.create(kind=K.RESOLVE, plan=locked.plan, amount_minor=None, currency=locked.currency,
                                       reason=reason, rule=rule, rule_version=str(rule_version), maker=None,
                                       prior={str(locked.pk): locked.status})
        action.breaks.set([locked])
        audit.record(None, action, "propose", None, action_state(action), rule=rule, rule_version=str(rule_version))
        return apply_action(action, [locked], None)


def suspend(brk: Break | int, by: User, reason: str, until: date | str) -> Action:
    """挂起 until a review date (after today); reopened by itself on that date (``reopen_due``)."""
    return propose([_pk(brk)], K.SUSPEND, by, reason=reason, until=until)


def reopen(brk: Break | int, by: User, reason: str = "") -> Action:
    """A suspended break back to open before its review date (a resolved one: ``undo`` its action)."""
    return propose([_pk(brk)], K.REOPEN, by, reason=reason)


def _pk(brk: Break | int) -> int:
    return int(brk.pk if isinstance(brk, Break) else brk)


@transaction.atomic
def undo(action_id: Any, by: User, reason: str, *, kind: str = K.UNDO) -> Action:
    """Reverse an applied action: its breaks back to open, its entries reversed (an action itself)."""
    access.require(by, access.ACT)
    target = access.get_action(by, action_id, Action.objects.select_for_update())
    if target.state != Action.State.APPLIED or target.kind not in UNDOABLE:
        raise BadState("NOT_UNDOABLE", f"action {target.pk} ({target.kind}, {target.state}) cannot be undone")
    if kind == K.UNMATCH and target.kind != K.MANUAL_MATCH:
        raise BadState("NOT_A_MATCH", f"action {target.pk} is a {target.kind}, not a manual match")
    need_reason(Details(reason=reason.strip()), kind)
    breaks = list(target.breaks.select_for_update().select_related("plan"))
    left = S.SUSPENDED if target.kind == K.SUSPEND else S.RESOLVED
    for brk in breaks:
        if brk.status != left:
            raise BadState("CHANGED_SINCE", f"break {brk.pk} is {brk.status} now, no longer as action {target.pk} "
                           "left it")
    action = Action.objects.create(kind=kind, plan=target.plan, target=target, amount_minor=target.amount_minor,
                                   currency=target.currency, reason=reason.strip(), maker=by,
                                   prior={str(b.pk): b.status for b in breaks})
    action.breaks.set(breaks)
    return _submit(action, breaks, by)


def unmatch(action_id: Any, by: User, reason: str) -> Action:
    return undo(action_id, by, reason, kind=K.UNMATCH)


@transaction.atomic
def assign(brk: Break | int, by: User, assignee: Any) -> Break:
    """Give the break to a person (a user or username who may see its plan), or to nobody (None)."""
    access.require(by, access.ACT)
    locked = _locked(by, [_pk(brk)])[0]
    person = None
    if assignee not in (None, ""):
        users = get_user_model().objects.filter(is_active=True)
        person = assignee if isinstance(assignee, get_user_model()) else users.filter(username=assignee).first()
        if person is None or not person.has_perm(access.VIEW) or not access.can_see_plan(person, locked.plan_id):
            raise InputRejected("BAD_ASSIGNEE", f"{assignee} cannot work on breaks of plan {locked.plan.name}",
                                field="assignee")
    change_break(locked, by, None, "assign", assignee=person)
    return locked


@transaction.atomic
def comment(brk: Break | int, by: User, body: str) -> Comment:
    access.require(by, access.ACT, access.APPROVE)
    locked = _locked(by, [_pk(brk)])[0]
    body = body.strip()
    if not body:
        raise InputRejected("EMPTY_COMMENT", "the comment is empty", field="body")
    note = Comment.objects.create(brk=locked, author=by, body=body[:10000])
    audit.record(by, locked, "comment", None, {"comment": note.pk, "body": note.body})
    return note


def reopen_due(today: date | None = None) -> int:
    """Reopen every suspended break whose review date is today or past; the count."""
    today = today or timezone.localdate()
    count = 0
    for pk in Break.objects.filter(status=S.SUSPENDED, suspended_until__lte=today).values_list("pk", flat=True):
        with transaction.atomic():
            brk = Break.objects.select_for_update().select_related("plan").get(pk=pk)
            if brk.status != S.SUSPENDED or brk.suspended_until is None or brk.suspended_until > today:
                continue
            action = Action.objects.create(kind=K.REOPEN, plan=brk.plan, currency=brk.currency, maker=None,
                                           rule="review_date", rule_version="1",
                                           reason=f"review date {brk.suspended_until} reached",
                                           prior={str(brk.pk): brk.status})
            action.breaks.set([brk])
            audit.record(None, action, "propose", None, action_state(action), rule="review_date", rule_version="1")
            apply_action(action, [brk], None)
            count += 1
    return count


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)  # break ids
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (break id, code, message)


def bulk(breaks: Iterable[Any] | QuerySet[Break], operation: str, by: User, **details: Any) -> BulkResult:
    """One ``operation`` per break (an action kind, ``assign`` or ``comment``), each in its own
    transaction: a break that cannot take it is reported, the others go ahead."""
    ids = list(breaks.values_list("pk", flat=True)) if isinstance(breaks, QuerySet) else list(breaks)
    if len(ids) > MAX_BULK:
        raise InputRejected("TOO_MANY", f"{len(ids)} breaks; a bulk action takes at most {MAX_BULK}",
                            hint="narrow the filter")
    result = BulkResult()
    for pk in ids:
        try:
            if operation == "assign":
                assign(pk, by, details.get("assignee"))
            elif operation == "comment":
                comment(pk, by, str(details.get("body", "")))
            else:
                propose([pk], operation, by, **details)
        except TallyError as exc:
            result.failed.append((int(pk), exc.code, exc.message))
        else:
            result.done.append(int(pk))
    return result
