"""The compiled set (one index over a principal's policies), its memos, deferred
deciding statements, and failing closed when a context value blows up mid-evaluation."""

from __future__ import annotations

from typing import Any

from warden.policy import (
    CompiledPolicy,
    CompiledSet,
    Decision,
    Deferred,
    DeferredDecision,
    Effect,
    PolicyType,
    RequestContext,
    compile_set,
    evaluate,
)

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _policy(pid: str, *statements: dict[str, Any]) -> CompiledPolicy:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return CompiledPolicy.compile(pid, doc, policy_type=PolicyType.IDENTITY)


def _ctx(action: str = "s3:GetObject", **keys: Any) -> RequestContext:
    return RequestContext(action, ("arn:aws:s3:::b/k",), USER, ACCOUNT, keys)


TAGGED = {"StringEquals": {"aws:PrincipalTag/team": "web"}}


def _allow(sid: str, action: str, resource: str = "*", **cond: Any) -> dict[str, Any]:
    out = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
    return {**out, "Condition": cond["condition"]} if cond else out


def test_compile_set_is_memoised_by_policy_objects() -> None:
    p = _policy("p", {"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert compile_set([p]) is compile_set((p,))
    assert compile_set([p]) is not compile_set([p], boundary=[p])
    assert compile_set([p]) is not compile_set([_policy("p", {"Effect": "Allow", "Action": "*"})])


def test_a_set_decides_as_evaluate_does() -> None:
    policies = [
        _policy("p", {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        _policy("q", {"Sid": "D", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}),
    ]
    compiled = CompiledSet(policies)
    for action in ("s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"):
        assert compiled.evaluate(_ctx(action)) == evaluate(_ctx(action), identity=policies)
    assert repr(compiled) == "CompiledSet(2 policies)"


def test_deciding_statements_with_conditions_are_listed_when_read() -> None:
    p = _policy(
        "p",
        _allow("First", "s3:*"),
        _allow("Tagged", "s3:Get*", condition=TAGGED),
        _allow("Other", "s3:Get*", condition={"StringEquals": {"aws:PrincipalTag/team": "db"}}),
    )
    decision = evaluate(_ctx(**{"aws:PrincipalTag/team": "web"}), identity=[p])
    assert isinstance(decision, DeferredDecision)
    assert decision.allowed and decision.policy_type is PolicyType.IDENTITY
    assert decision.deciding == ("p#First", "p#Tagged")
    plain = Decision(Effect.ALLOWED, PolicyType.IDENTITY, ("p#First", "p#Tagged"))
    assert decision == plain and plain == decision and hash(decision) == hash(plain)
    assert repr(decision) == repr(plain)
    assert decision != Decision(Effect.ALLOWED, PolicyType.IDENTITY, ("p#First",))


def test_memoised_decisions_do_not_leak_between_contexts() -> None:
    p = _policy(
        "p",
        _allow("Web", "s3:*", condition=TAGGED),
        _allow("Mine", "s3:*", "arn:aws:s3:::${aws:username}/*"),
        {**_allow("Deny", "s3:Delete*", condition=TAGGED), "Effect": "Deny"},
    )
    for _ in range(2):  # the second round is answered from the memos
        web = evaluate(_ctx(**{"aws:PrincipalTag/team": "web"}), identity=[p])
        other = evaluate(_ctx(**{"aws:PrincipalTag/team": "db"}), identity=[p])
        mine = evaluate(
            RequestContext(
                "s3:GetObject", ("arn:aws:s3:::b/k",), USER, ACCOUNT, {"aws:username": "b"}
            ),
            identity=[p],
        )
        deleting = evaluate(
            _ctx("s3:DeleteObject", **{"aws:PrincipalTag/team": "web"}), identity=[p]
        )
        assert (web.effect, web.deciding) == (Effect.ALLOWED, ("p#Web",))
        assert (other.effect, other.deciding) == (Effect.IMPLICIT_DENY, ())
        assert (mine.effect, mine.deciding) == (Effect.ALLOWED, ("p#Mine",))
        assert (deleting.effect, deleting.deciding) == (Effect.EXPLICIT_DENY, ("p#Deny",))


class _Explodes:
    """A context value whose conversion to text fails (normalised lazily, mid-decision)."""

    def __str__(self) -> str:
        raise RuntimeError("boom")


def test_a_value_that_fails_to_normalise_fails_closed() -> None:
    ctx = _ctx(**{"aws:PrincipalTag/team": _Explodes()})  # constructing it does not raise
    allow = _policy("p", {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": TAGGED})
    assert evaluate(ctx, identity=[allow]).effect is Effect.IMPLICIT_DENY
    deny = _policy(
        "q",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": TAGGED},
    )
    denied = evaluate(_ctx(**{"aws:PrincipalTag/team": _Explodes()}), identity=[deny])
    assert (denied.effect, denied.deciding) == (Effect.EXPLICIT_DENY, ("q#D",))


def test_plans_are_per_action_and_case_insensitive() -> None:
    p = _policy("p", {"Sid": "A", "Effect": "Allow", "Action": "S3:Get*", "Resource": "*"})
    compiled = CompiledSet([p])
    assert compiled.evaluate(_ctx("s3:getobject")).allowed
    assert compiled.evaluate(_ctx("S3:GETOBJECT")).allowed
    assert not compiled.evaluate(_ctx("s3:PutObject")).allowed


def test_a_deferred_value_is_read_once_and_only_when_a_condition_names_it() -> None:
    reads: list[str] = []

    def aliases() -> list[str]:
        reads.append("read")
        return ["alias/a", "alias/b"]

    named = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/b"}}
    plain = _policy("p", _allow("A", "kms:Decrypt"))
    assert evaluate(
        _ctx("kms:Decrypt", **{"kms:ResourceAliases": Deferred(aliases)}), identity=[plain]
    ).allowed
    assert reads == []  # no condition named it
    both = _policy(
        "q",
        _allow("A", "kms:Decrypt", condition=named),
        {"Sid": "D", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/x"}}},
    )  # fmt: skip
    decided = evaluate(
        _ctx("kms:Decrypt", **{"kms:ResourceAliases": Deferred(aliases)}), identity=[both]
    )
    assert decided.allowed and reads == ["read"]  # two conditions, one read, multivalued


def test_a_deferred_value_that_fails_fails_closed() -> None:
    def broken() -> str:
        raise RuntimeError("the store is gone")

    allow = _policy("p", {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": TAGGED})
    ctx = _ctx(**{"aws:PrincipalTag/team": Deferred(broken)})
    assert evaluate(ctx, identity=[allow]).effect is Effect.IMPLICIT_DENY
    # A Deny whose condition cannot be read applies: unread is not "does not match".
    deny = _policy(
        "q",
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": TAGGED},
    )
    denied = evaluate(_ctx(**{"aws:PrincipalTag/team": Deferred(broken)}), identity=[deny])
    assert (denied.effect, denied.deciding) == (Effect.EXPLICIT_DENY, ("q#D",))
