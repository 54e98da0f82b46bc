"""Maker-checker: each threshold at ±1 minor unit, self-approval refused, roles and plans."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from tally.breaks.models import Action, Break
from tally.errors import InputRejected, NotAllowed, NotFound
from tally.services import policy, resolution
from tests.services import workflow_factories as f

pytestmark = pytest.mark.django_db


def propose(kind: str, amount: int, maker: Any) -> Action:
    """A proposal of ``kind`` whose amount (what the threshold compares) is ``amount`` minor units."""
    plan = f.plan()
    if kind == "supplement":
        return resolution.propose([f.brk(plan, "long", theirs=amount).pk], kind, maker)
    if kind == "adjust":
        return resolution.propose([f.brk(plan).pk], kind, maker, amount_minor=amount, reason="booked wrong")
    if kind == "manual_match":
        pair = [f.brk(plan, "short", ours=5000 + amount).pk, f.brk(plan, "long", theirs=5000).pk]
        return resolution.propose(pair, kind, maker, reason="explained by the channel's rounding")
    brk = f.brk(plan, ours=10_000 + amount, theirs=10_000)
    if kind == "write_off":
        return resolution.propose([brk.pk], kind, maker, reason_code="small_difference")
    return resolution.propose([brk.pk], kind, maker, reason="explained")


MONEY_KINDS = ("supplement", "adjust", "write_off", "manual_match", "resolve")


@pytest.mark.parametrize("kind", MONEY_KINDS)
@pytest.mark.parametrize(("amount", "needs"), [(999, False), (1000, False), (1001, True),
                                              (-999, False), (-1000, False), (-1001, True)])
def test_threshold_boundary_at_plus_minus_one_minor_unit(kind: str, amount: int, needs: bool) -> None:
    if kind == "supplement" and amount < 0:
        amount = -amount  # a long break's own amount; its sign does not change the rule
    policy.set_policy(kind, requires_approval=True, threshold_minor=1000)
    action = propose(kind, amount, f.user("operator"))
    assert action.amount_minor == amount
    assert action.state == ("proposed" if needs else "applied")


@pytest.mark.parametrize("kind", ["write_off", "resolve", "manual_match"])
@pytest.mark.parametrize(("amount", "needs"), [(-1, True), (0, False), (1, True)])
def test_default_threshold_is_zero(kind: str, amount: int, needs: bool) -> None:
    action = propose(kind, amount, f.user("operator"))
    assert action.state == ("proposed" if needs else "applied")


@pytest.mark.parametrize("kind", MONEY_KINDS)
def test_a_kind_without_approval_applies_whatever_the_amount(kind: str) -> None:
    policy.set_policy(kind, requires_approval=False)
    assert propose(kind, 10**9, f.user("operator")).state == "applied"


def test_suspend_reopen_comment_need_no_approval_by_default() -> None:
    for kind in ("suspend", "reopen", "undo", "unmatch"):
        assert not policy.needs_approval(kind, 10**9)
    for kind in (*MONEY_KINDS, "sync_status"):
        assert policy.needs_approval(kind, 1)


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_the_maker_never_approves_or_rejects_their_own_action(role: str) -> None:
    maker = f.user(role)
    if role == "operator":
        maker.groups.add(Group.objects.get(name="approver"))  # both roles on one person: still refused
        maker = type(maker).objects.get(pk=maker.pk)
    action = propose("adjust", 5, maker)
    for attempt in (lambda: resolution.approve(action.pk, maker), lambda: resolution.reject(action.pk, maker, "no")):
        with pytest.raises(NotAllowed) as exc:
            attempt()
        assert exc.value.code == "SELF_APPROVAL"
    assert Action.objects.get(pk=action.pk).state == "proposed"
    assert Break.objects.get(actions=action).status == "pending_approval"


def test_roles() -> None:
    viewer, operator, approver, admin = (f.user(r) for r in ("viewer", "operator", "approver", "admin"))
    brk = f.brk()
    for who in (viewer, approver):
        with pytest.raises(NotAllowed) as exc:
            resolution.propose([brk.pk], "write_off", who, reason_code="other", reason="x")
        assert exc.value.code == "FORBIDDEN"
    with pytest.raises(NotAllowed):
        resolution.comment(brk, viewer, "hello")
    resolution.comment(brk, approver, "checkers comment too")
    action = resolution.propose([brk.pk], "write_off", operator, reason_code="small_difference")
    for who in (viewer, f.user("operator")):
        with pytest.raises(NotAllowed) as exc:
            resolution.approve(action.pk, who)
        assert exc.value.code == "FORBIDDEN"
    resolution.approve(action.pk, admin)
    assert Action.objects.get(pk=action.pk).state == "applied"
    assert resolution.propose([f.brk().pk], "write_off", admin, reason_code="small_difference").state == "proposed"
    with pytest.raises(NotAllowed):
        resolution.propose([f.brk().pk], "write_off", f.user(None), reason_code="small_difference")


def test_plan_access_for_a_user_and_for_a_group() -> None:
    plan_a, plan_b = f.plan(), f.plan()
    in_a, in_b = f.brk(plan_a), f.brk(plan_b)
    limited = f.user("operator", plans=(plan_a,))
    resolution.comment(in_a, limited, "mine")
    with pytest.raises(NotFound):
        resolution.comment(in_b, limited, "not mine")
    with pytest.raises(NotFound):
        resolution.propose([in_b.pk], "write_off", limited, reason_code="small_difference")
    action_b = resolution.propose([in_b.pk], "write_off", f.user("operator"), reason_code="small_difference")
    checker = f.user("approver")
    f.group_limited(Group.objects.get(name="approver"), plan_a)  # every approver now limited to plan A
    checker = type(checker).objects.get(pk=checker.pk)
    with pytest.raises(NotFound):
        resolution.approve(action_b.pk, checker)
    assert list(resolution.waiting(checker)) == []
    with pytest.raises(NotFound):
        resolution.undo(action_b.pk, limited, "x")
    assert resolution.assign(in_a, limited, checker.username).assignee == checker  # the checker sees plan A
    viewer_of_b = f.user("viewer", plans=(plan_b,))
    with pytest.raises(InputRejected) as exc:
        resolution.assign(in_a, limited, viewer_of_b.username)
    assert exc.value.code == "BAD_ASSIGNEE"


def test_superuser_is_never_limited() -> None:
    from django.contrib.auth.models import User

    plan = f.plan()
    root = User.objects.create_superuser("root", password="x")
    f.group_limited(Group.objects.create(name="others"), plan)
    brk = f.brk(f.plan())
    resolution.comment(brk, root, "seen")


def test_people_who_may_work_on_a_plan() -> None:
    from django.contrib.auth.models import User

    from tally.services import access

    plan_a, plan_b = f.plan(), f.plan()
    everyone = f.user("viewer")
    only_a = f.user("operator", plans=(plan_a,))
    only_b = f.user("approver", plans=(plan_b,))
    nobody = f.user(None)
    group = Group.objects.create(name="team-b")
    in_group = f.user("operator")
    in_group.groups.add(group)
    f.group_limited(group, plan_b)
    root = User.objects.create_superuser("root", password="x")
    names = {u.username for u in access.people(plan_a)}
    assert names == {everyone.username, only_a.username, root.username}
    assert {u.username for u in access.people(plan_b)} == {everyone.username, only_b.username, in_group.username,
                                                           root.username}
    assert nobody.username not in names
    for person in access.people(plan_a):
        assert person.has_perm(access.VIEW)
        assert access.can_see_plan(person, plan_a)
