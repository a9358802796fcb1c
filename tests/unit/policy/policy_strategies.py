"""Hypothesis strategies for IAM policies and request contexts over small alphabets,
so that actions, resources, principals and condition values actually collide."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ACTIONS = ["s3:GetObject", "s3:PutObject", "rds:DescribeDBClusters", "iam:GetUser"]
ACTION_PATTERNS = [
    "*",
    "s3:*",
    "s3:Get*",
    "S3:getobject",
    "s3:?etObject",
    "*:Get*",
    "rds:*",
    "iam:GetUser",
    "s3:Put*",
    "rds:Describe?BClusters",
    "iam:*User",
    "s3:GetObjec",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/k:x",
    "arn:aws:s3:::bob/a",
    "arn:aws:rds:us-east-1:111:cluster:a",
    "arn:aws:rds:us-east-1:111:cluster:bob",
    "arn:aws:iam::111:user/bob",
    "arn:aws:iam::111:user/p/*",
    "arn:aws:rds:us-east:x-1:111:cluster:a",
]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:*",
    "arn:aws:*",
    "arn:aws:s3:::b/?",
    "arn:aws:rds:*:111:cluster:*",
    "arn:aws:rds:us-*-1:111:*",
    "arn:aws:rds:*:*:cluster:${aws:username}",
    "arn:aws:s3:::${aws:username}/*",
    "arn:aws:iam::111:user/${aws:username}",
    "arn:aws:iam::111:user/${aws:PrincipalTag/t, 'p'}/${*}",
    "arn:aws:s3:::b/k:*",
    "arn:aws:*:*:111:*",
    "arn:aws:iam::*:user/b?b",
    "arn:aws:s3:::${aws:userid}",
    "arn:aws:s3:::b/k",
    "arn:aws:rds:*",
    "arn:*:rds:*:111:cluster:a",
    "arn:aws:s3:::b/${AWS:UserName}",
]
KEYS = [
    "aws:username",
    "aws:TagKeys",
    "k:n",
    "k:s",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:SecureTransport",
    "k:arn",
    "k:b",
    "aws:PrincipalTag/t",
    "AWS:USERNAME",
]
POLICY_VALUES: list[Any] = [
    "bob",
    "Bob",
    "b*",
    "*",
    "?ob",
    "${aws:username}",
    "${aws:PrincipalTag/t, 'x'}",
    "${nope}",
    "1",
    "10",
    "2.5",
    "-3",
    "abc",
    "true",
    "false",
    "TRUE",
    "10.0.0.0/8",
    "10.1.2.3",
    "::1",
    "2001:db8::/32",
    "2024-01-01T00:00:00Z",
    "1704067200",
    "2024-06-01",
    "arn:aws:iam::111:user/*",
    "arn:aws:iam::111:*",
    "arn:aws:iam::111:user/${aws:username}",
    "d2FyZGVu",
    "QQ==",
    "x",
    "",
    "${*}",
    "${$}",
    "1e1",
    True,
    False,
    10,
    2.5,
]
PRINCIPAL_VALUES = [
    "*",
    "111",
    "222",
    "arn:aws:iam::111:root",
    "arn:aws:iam::111:user/bob",
    "arn:aws:iam::111:role/r",
    "arn:aws:sts::111:assumed-role/r/s",
    "arn:aws:iam::222:root",
]


def _one_or_list(elements: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[Any]:
    return st.one_of(elements, st.lists(elements, min_size=0, max_size=max_size))


FAMILY_KEYS = {
    "String": (
        ["aws:username", "AWS:USERNAME", "k:s", "aws:TagKeys", "aws:PrincipalTag/t"],
        [
            "bob",
            "Bob",
            "b*",
            "*",
            "?ob",
            "alice",
            "a",
            "${aws:username}",
            "${aws:PrincipalTag/t, 'bob'}",
            "${nope}",
            "${*}",
            "",
            "B?B",
            "${aws:TagKeys}",
        ],
    ),
    "Numeric": (["k:n"], ["1", "10", "2.5", "-3", "1e1", "abc", 10, 2.5, "010"]),
    "Date": (
        ["aws:CurrentTime"],
        [
            "2024-01-01T00:00:00Z",
            "1704067200",
            "2024-06-01",
            "2023-12-31T23:00:00-01:00",
            "soon",
            1704067200,
        ],
    ),
    "Bool": (
        ["aws:SecureTransport", "k:s"],
        ["true", "false", "TRUE", True, False, "${k:s}", "yes"],
    ),
    "Binary": (["k:b"], ["d2FyZGVu", "QQ==", "!!"]),
    "Ip": (
        ["aws:SourceIp"],
        ["10.0.0.0/8", "10.1.2.3", "::1", "2001:db8::/32", "10.0.0.0/33", "192.168.0.0/16"],
    ),
    "Arn": (
        ["k:arn", "aws:PrincipalArn"],
        [
            "arn:aws:iam::111:user/*",
            "arn:aws:iam::111:*",
            "arn:aws:iam::*:role/r",
            "arn:aws:iam::111:user/${aws:username}",
            "arn:*:iam::111:user/bob",
            "*",
        ],
    ),
    "Null": (["aws:username", "k:n", "aws:TagKeys"], ["true", "false", True, "maybe"]),
}
FAMILY_OPS = {
    "String": [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    ],
    "Numeric": [
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ],
    "Date": [
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    ],
    "Bool": ["Bool"],
    "Binary": ["BinaryEquals"],
    "Ip": ["IpAddress", "NotIpAddress"],
    "Arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
    "Null": ["Null"],
}
CONTEXT_VALUES: dict[str, list[Any]] = {
    "aws:username": ["bob", "Bob", "alice", "*", ""],
    "k:s": ["bob", "B?B", "true", "a", "${aws:username}"],
    "aws:TagKeys": [["a", "bob"], ["bob"], [], ["alice", "b"], "bob"],
    "aws:PrincipalTag/t": ["bob", "x", "*"],
    "k:n": ["1", "10", "2.5", "-3", "abc", 10, "1e1"],
    "aws:CurrentTime": ["2024-01-01T00:00:00Z", "1704067200", "2024-03-01T00:00:00Z", "bad"],
    "aws:SecureTransport": [True, False, "true"],
    "k:b": ["d2FyZGVu", "QQ==", "x"],
    "aws:SourceIp": ["10.1.2.3", "192.168.1.1", "2001:db8::5", "::1", "nope"],
    "k:arn": ["arn:aws:iam::111:user/bob", "arn:aws:iam::111:role/r", "arn:aws:iam::111", "bob"],
}


@st.composite
def clauses(draw: st.DrawFn) -> tuple[str, str, Any]:
    """A (operator, key, values) triple whose key and values usually fit the operator."""
    family = draw(st.sampled_from(sorted(FAMILY_OPS)))
    keys, values = FAMILY_KEYS[family]
    if draw(st.integers(0, 9)) == 0:
        keys, values = KEYS, POLICY_VALUES
    qualifier = draw(st.sampled_from(["", "", "", "ForAllValues:", "ForAnyValue:"]))
    if_exists = draw(st.integers(0, 4)) == 0
    base = draw(
        st.sampled_from(FAMILY_OPS[family] + (["StringEqualz"] if family == "String" else []))
    )
    operator = qualifier + base + ("IfExists" if if_exists else "")
    value = draw(_one_or_list(st.sampled_from(values)))
    return operator, draw(st.sampled_from(keys)), value


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for key, values in CONTEXT_VALUES.items():
        if draw(st.integers(0, 9)) < 6:
            value = draw(st.sampled_from(values))
            if draw(st.integers(0, 5)) == 0:
                value = draw(
                    st.lists(
                        st.sampled_from([v for v in values if not isinstance(v, list)]), max_size=3
                    )
                )
            keys[key] = value
    return keys


def _block(triples: list[tuple[str, str, Any]]) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for operator, key, value in triples:
        block.setdefault(operator, {})[key] = value
    return block


condition_blocks = st.one_of(
    st.just({}), st.builds(_block, st.lists(clauses(), min_size=1, max_size=3))
)
_NAMED = PRINCIPAL_VALUES[1:] + ["arn:aws:iam::111:role/r"] * 3
principals = st.one_of(
    st.just("*"),
    st.builds(lambda v: {"AWS": v}, st.sampled_from(_NAMED)),
    st.builds(lambda v: {"AWS": v}, st.sampled_from(_NAMED)),
    st.builds(lambda v: {"AWS": v}, st.lists(st.sampled_from(PRINCIPAL_VALUES), max_size=3)),
    st.just({"Service": "x.amazonaws.com"}),
)


@st.composite
def statements(draw: st.DrawFn, resource_policy: bool) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Allow", "Deny"]))}
    sid = draw(st.sampled_from([None, "A", "B"]))
    if sid:
        stmt["Sid"] = sid
    action_kind = draw(st.sampled_from(["Action", "Action", "Action", "NotAction", None]))
    if action_kind:
        stmt[action_kind] = draw(_one_or_list(st.sampled_from(ACTION_PATTERNS)))
    resource_kind = draw(st.sampled_from(["Resource", "Resource", "NotResource", None]))
    if resource_kind:
        stmt[resource_kind] = draw(_one_or_list(st.sampled_from(RESOURCE_PATTERNS)))
    if resource_policy:
        principal_kind = draw(st.sampled_from(["Principal", "Principal", "NotPrincipal", None]))
        if principal_kind:
            stmt[principal_kind] = draw(principals)
    conditions = draw(condition_blocks)
    if conditions:
        stmt["Condition"] = conditions
    return stmt


@st.composite
def documents(draw: st.DrawFn, resource_policy: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    version = draw(st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17", None]))
    if version:
        doc["Version"] = version
    body = draw(st.lists(statements(resource_policy), min_size=1, max_size=3))
    doc["Statement"] = body[0] if len(body) == 1 and draw(st.booleans()) else body
    return doc


@st.composite
def policy_sets(draw: st.DrawFn) -> dict[str, Any]:
    def layer(prefix: str, count: int, resource_policy: bool = False) -> list[tuple[str, Any]]:
        docs = draw(st.lists(documents(resource_policy), max_size=count))
        return [(f"{prefix}{i}", d) for i, d in enumerate(docs)]

    return {
        "identity": layer("i", 2),
        "resource": layer("r", 1, resource_policy=True),
        "boundary": draw(st.one_of(st.none(), st.just(True))) and layer("b", 1),
        "session": draw(st.one_of(st.none(), st.just(True))) and layer("s", 1),
    }


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.booleans())
    principal = draw(st.sampled_from(["arn:aws:iam::111:user/bob", "arn:aws:iam::111:root"]))
    caller = ""
    if role:
        principal, caller = "arn:aws:iam::111:role/r", "arn:aws:sts::111:assumed-role/r/s"
    keys = draw(contexts())
    return {
        "action": draw(st.sampled_from(ACTIONS)),
        "resources": draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2)),
        "principal_arn": principal,
        "principal_account": draw(st.sampled_from(["111", "111", "222"])),
        "caller_arn": caller,
        "keys": keys,
    }


options = st.fixed_dictionaries(
    {
        "is_root": st.sampled_from([False] * 7 + [True]),
        "resource_account": st.sampled_from([None, None, "111", "222"]),
        "resource_policy_required": st.sampled_from([False, False, False, True]),
    }
)
